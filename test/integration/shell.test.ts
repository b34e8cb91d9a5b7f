import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { execEnvironment } from "../../src/platform/execEnvironment.js"
import type { CommandRejected } from "../../src/services/ShellExecutor.js"
import { scopedProcessEnv } from "../support/fixtures.js"
import {
  childPids,
  doneCode,
  echoRecorder,
  errorOf,
  eventually,
  executorLayer,
  inSession,
  installLeakCheck,
  openSession,
  payloadCase,
  scopedTempDir,
  sh,
  shell,
  stage,
  stageExits
} from "./shellHarness.js"

installLeakCheck()

const isRoot = process.getuid?.() === 0
if (!isRoot) console.log("shell.test.ts: skipping the uid/gid test: it needs root")

const rejection = (effect: Effect.Effect<void, CommandRejected>) => Effect.flip(effect)

describe("ShellExecutor: pipelines", () => {
  it.live("echo: Started first, then output and StageExit (in either order), Done{0} last", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("c1", shell([stage(["echo", "hello"])]))
        const end = yield* sink.terminal("c1")
        expect(doneCode(end)).toBe(0)
        // OutputChunk and StageExit race (the spec orders neither); both come after Started and before Done.
        const order = sink.of("c1").map(payloadCase)
        expect([order[0], order.at(-1)]).toEqual(["started", "done"])
        expect(order.slice(1, -1).sort()).toEqual(["output", "stageExit"])
        expect(sink.output("c1").toString()).toBe("hello\n")
        expect(stageExits(sink.of("c1"))).toEqual([{ stageIndex: 0, exitCode: 0, signo: 0 }])
      })
    )
  })

  it.live("a stage killed by a real-time signal: StageExit carries its number (waitid), Done is -1", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("rt", shell([stage(["bash", "-c", "kill -s RTMIN+6 $$"])]))
        expect(doneCode(yield* sink.terminal("rt"))).toBe(-1)
        expect(stageExits(sink.of("rt"))).toEqual([{ stageIndex: 0, exitCode: -1, signo: 34 + 6 }])
      })
    )
  })

  it.live("false exits 1, exit 42 exits 42", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("f", shell([stage(["false"])]))
        yield* shells.run("e", sh("exit 42"))
        expect(doneCode(yield* sink.terminal("f"))).toBe(1)
        expect(doneCode(yield* sink.terminal("e"))).toBe(42)
        expect(stageExits(sink.of("e"))).toEqual([{ stageIndex: 0, exitCode: 42, signo: 0 }])
      })
    )
  })

  it.live("printf 'b\\na\\n' | sort | tr a-z A-Z: one StageExit per stage, Done is the last stage's code", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("p", shell([stage(["printf", "b\\na\\n"]), stage(["sort"]), stage(["tr", "a-z", "A-Z"])]))
        expect(doneCode(yield* sink.terminal("p"))).toBe(0)
        expect(sink.output("p").toString()).toBe("A\nB\n")
        expect(stageExits(sink.of("p")).map((s) => s.stageIndex).sort()).toEqual([0, 1, 2])
        // No pipefail: only the last stage decides.
        yield* shells.run("q", shell([stage(["false"]), stage(["cat"])]))
        expect(doneCode(yield* sink.terminal("q"))).toBe(0)
        yield* shells.run("r", shell([stage(["true"]), stage(["sh", "-c", "exit 7"])]))
        expect(doneCode(yield* sink.terminal("r"))).toBe(7)
      })
    )
  })

  it.live("stdout and stderr share one pipe: printf A; printf B >&2 is exactly AB, and writes keep their order", () => {
    const script = Array.from({ length: 40 }, (_, i) => `printf o${i}; printf e${i} >&2`).join("; ")
    const expected = Array.from({ length: 40 }, (_, i) => `o${i}e${i}`).join("")
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("ab", sh("printf A; printf B >&2"))
        yield* shells.run("many", sh(script))
        yield* sink.terminal("ab")
        yield* sink.terminal("many")
        expect(sink.output("ab").toString()).toBe("AB")
        expect(sink.output("many").toString()).toBe(expected)
      })
    )
  })

  it.live("an earlier stage's stderr is in the output, its stdout is not", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("p", shell([stage(["sh", "-c", "echo data; echo warn >&2"]), stage(["tr", "a-z", "A-Z"])]))
        yield* sink.terminal("p")
        expect(sink.output("p").toString().split("\n").sort()).toEqual(["", "DATA", "warn"])
      })
    )
  })

  it.live("env: the one clawkerd was exec'd with, whatever its runtime set or unset since, minus CLAWKERD_*", () => {
    const script = "env | grep -E '^(NODE_OPTIONS_SET_LATER|CLAWKERD_)' || echo none"
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* scopedProcessEnv({ NODE_OPTIONS_SET_LATER: "--max-old-space-size=64", CLAWKERD_LOG_LEVEL: "debug" })
        yield* shells.run("plain", sh(script))
        yield* shells.run("mapped", shell([stage(["sh", "-c", script], { env: { EXTRA: "x" } })]))
        yield* sink.terminal("plain")
        yield* sink.terminal("mapped")
        expect(sink.output("plain").toString()).toBe("none\n")
        expect(sink.output("mapped").toString()).toBe("none\n")
      })
    )
  })

  it.live("env: an empty map inherits ours unchanged; a map adds to ours and wins clashes", () => {
    const [name, value] = Object.entries(execEnvironment()).find(([n, v]) =>
      /^[A-Z][A-Z0-9_]*$/.test(n) && !["PWD", "SHLVL", "_", "PATH", "EXTRA"].includes(n) && /^[^\n|]*$/.test(v)
    )!
    const script = `echo "$${name}|$EXTRA|\${PATH:+has-path}"`
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("plain", sh(script))
        yield* shells.run("extra", shell([stage(["sh", "-c", script], { env: { EXTRA: "x" } })]))
        yield* shells.run("wins", shell([stage(["sh", "-c", script], { env: { [name]: "mine" } })]))
        for (const id of ["plain", "extra", "wins"]) yield* sink.terminal(id)
        expect(sink.output("plain").toString()).toBe(`${value}||has-path\n`)
        expect(sink.output("extra").toString()).toBe(`${value}|x|has-path\n`)
        expect(sink.output("wins").toString()).toBe("mine||has-path\n")
      })
    )
  })

  it.live("cwd: empty is clawkerd's own, otherwise that directory", () =>
    inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("own", shell([stage(["pwd"])]))
        yield* shells.run("tmp", shell([stage(["pwd"], { cwd: os.tmpdir() })]))
        yield* sink.terminal("own")
        yield* sink.terminal("tmp")
        expect(sink.output("own").toString()).toBe(`${process.cwd()}\n`)
        expect(sink.output("tmp").toString()).toBe(`${os.tmpdir()}\n`)
      })
    ))

  it.live.skipIf(!isRoot)("uid/gid 65534: the stage runs as nobody with no supplementary groups", () => {
    const nobody = { uid: 65534, gid: 65534 }
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("u", shell([stage(["id", "-u"], nobody)]))
        yield* shells.run("g", shell([stage(["id", "-G"], nobody)]))
        yield* shells.run("root", shell([stage(["id", "-u"])]))
        for (const id of ["u", "g", "root"]) expect(doneCode(yield* sink.terminal(id))).toBe(0)
        expect(sink.output("u").toString()).toBe("65534\n")
        expect(sink.output("g").toString()).toBe("65534\n")
        expect(sink.output("root").toString()).toBe("0\n")
      })
    )
  })
})

describe("ShellExecutor: refusals and spawn failures", () => {
  it.live("INVALID_REQUEST for no stages, an empty argv, uid without gid, a running id; ids are free again after the terminal reply", () => {
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        expect(yield* rejection(shells.run("x", shell([])))).toMatchObject({
          code: ErrorCode.ERROR_CODE_INVALID_REQUEST,
          message: "shell: stages must not be empty"
        })
        expect(yield* rejection(shells.run("x", shell([stage(["true"]), stage([])])))).toMatchObject({
          code: ErrorCode.ERROR_CODE_INVALID_REQUEST,
          message: "shell: stage[1] argv must not be empty"
        })
        // Half a privilege drop (the reference runs uid-only with root's group): refused, nothing runs.
        expect(yield* rejection(shells.run("x", shell([stage(["id"], { uid: 1001 })])))).toMatchObject({
          code: ErrorCode.ERROR_CODE_INVALID_REQUEST,
          message: "shell: stage[0] gid must be non-zero when uid is (uid 1001); set both or neither"
        })
        yield* shells.run("dup", shell([stage(["sleep", "100"])]))
        expect(yield* rejection(shells.run("dup", shell([stage(["true"])])))).toMatchObject({
          code: ErrorCode.ERROR_CODE_INVALID_REQUEST,
          message: "shell: command_id already in use"
        })
        yield* sink.started("dup")
        yield* shells.signal("dup", 9)
        yield* sink.terminal("dup")
        yield* eventually(() => logs.events("shell_command_done").length === 1)
        yield* shells.run("dup", shell([stage(["true"])]))
        yield* sink.waitFor((r) => r.commandId === "dup" && doneCode(r) === 0)
        expect(sink.of("x")).toEqual([])
        // Rejected commands are not audited.
        expect(logs.events("shell_command_started").filter((e) => e.command_id === "x")).toEqual([])
      })
    )
  })

  it.live("a nonexistent binary: SPAWN_FAILED, no Started/StageExit/Done, audit outcome spawn_failed", () => {
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run("nx", shell([stage(["clawkerd-no-such-program"])]))
        const end = yield* sink.terminal("nx")
        expect(errorOf(end)).toEqual({
          code: ErrorCode.ERROR_CODE_SPAWN_FAILED,
          message: "stage[0] start: exec: \"clawkerd-no-such-program\": executable file not found in $PATH"
        })
        expect(sink.of("nx").map(payloadCase)).toEqual(["error"])
        yield* eventually(() => logs.events("shell_command_done").length === 1)
        expect(logs.events("shell_command_started")).toMatchObject([{ command_id: "nx", stage_index: 0 }])
        expect(logs.events("shell_command_done")).toMatchObject([
          { command_id: "nx", outcome: "spawn_failed", final_exit_code: -1, timed_out: false }
        ])
        expect(yield* shells.runningCount).toBe(0)
      })
    )
  })

  it.live("a missing cwd: SPAWN_FAILED naming the directory, not the program", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("cwd", shell([stage(["true"], { cwd: "/clawkerd-no-such-dir" })]))
        expect(errorOf(yield* sink.terminal("cwd"))).toEqual({
          code: ErrorCode.ERROR_CODE_SPAWN_FAILED,
          message: "stage[0] start: chdir /clawkerd-no-such-dir: no such file or directory"
        })
      })
    )
  })

  it.live("other start failures: a file that is not executable, an out-of-range uid, argv [\"\"]", () =>
    inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        const dir = yield* scopedTempDir
        const script = path.join(dir, "not-executable")
        fs.writeFileSync(script, "#!/bin/sh\necho hi\n", { mode: 0o644 })
        yield* shells.run("noexec", shell([stage([script])]))
        yield* shells.run("uid", shell([stage(["true"], { uid: 2 ** 32 - 1, gid: 2 ** 32 - 1 })]))
        yield* shells.run("empty", shell([stage([""])]))
        expect(errorOf(yield* sink.terminal("noexec"))).toEqual({
          code: ErrorCode.ERROR_CODE_SPAWN_FAILED,
          message: `stage[0] start: fork/exec ${script}: permission denied`
        })
        for (const id of ["uid", "empty"]) {
          const error = errorOf(yield* sink.terminal(id))
          expect(error?.code).toBe(ErrorCode.ERROR_CODE_SPAWN_FAILED)
          expect(error?.message).toMatch(/^stage\[0\] start: ./)
          expect(sink.of(id).map(payloadCase)).toEqual(["error"])
        }
      })
    ))

  it.live("exec as the reference's: a file without a #! line is SPAWN_FAILED (never run by /bin/sh); the program is found on clawkerd's PATH, not the stage's", () =>
    inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        const dir = yield* scopedTempDir
        const script = path.join(dir, "no-shebang")
        fs.writeFileSync(script, `echo ran-by-sh > ${script}.ran\n`, { mode: 0o755 })
        fs.writeFileSync(path.join(dir, "only-on-stage-path"), "#!/bin/sh\necho found\n", { mode: 0o755 })
        yield* shells.run("enoexec", shell([stage([script])]))
        yield* shells.run("stage-path", shell([stage(["only-on-stage-path"], { env: { PATH: dir } })]))
        yield* shells.run("our-path", shell([stage(["sh", "-c", "echo $PATH"], { env: { PATH: dir } })]))
        expect(errorOf(yield* sink.terminal("enoexec"))).toEqual({
          code: ErrorCode.ERROR_CODE_SPAWN_FAILED,
          message: `stage[0] start: fork/exec ${script}: exec format error`
        })
        expect(fs.existsSync(`${script}.ran`)).toBe(false)
        expect(errorOf(yield* sink.terminal("stage-path"))).toEqual({
          code: ErrorCode.ERROR_CODE_SPAWN_FAILED,
          message: "stage[0] start: exec: \"only-on-stage-path\": executable file not found in $PATH"
        })
        // sh is found on clawkerd's PATH though the stage's names only `dir`, which it still gets.
        expect(doneCode(yield* sink.terminal("our-path"))).toBe(0)
        expect(sink.output("our-path").toString()).toBe(`${dir}\n`)
      })
    ))

  it.live("a later stage failing to start kills the started ones: no process is left", () => {
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run("half", shell([stage(["sleep", "100"]), stage(["clawkerd-no-such-program"])]))
        const error = errorOf(yield* sink.terminal("half"))
        expect(error?.message).toMatch(/^stage\[1\] start: exec: "clawkerd-no-such-program": executable file not found/)
        expect(sink.of("half").map(payloadCase)).toEqual(["error"])
        yield* eventually(() => logs.events("shell_command_done").length === 1)
        // The SIGKILLed first stage is reaped by pid on SIGCHLD or the next safety tick, which may come
        // just after the command's end is logged.
        yield* eventually(() => childPids().length === 0)
        expect(childPids()).toEqual([])
      })
    )
  })
})

describe("ShellExecutor: audit, print_output, exit_on_non_zero", () => {
  it.live("audit for true: shell_command_started per stage and one shell_command_done", () => {
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run(
          "t",
          shell([stage(["true"], { cwd: "/" }), stage(["cat"], { uid: 0, gid: 0 })], { timeoutSeconds: 30 })
        )
        expect(doneCode(yield* sink.terminal("t"))).toBe(0)
        yield* eventually(() => logs.events("shell_command_done").length === 1)
        expect(logs.events("shell_command_started")).toMatchObject([
          {
            level: "info",
            command_id: "t",
            stage_index: 0,
            argv: ["true"],
            cwd: "/",
            uid: 0,
            gid: 0,
            timeout_seconds: 30
          },
          {
            level: "info",
            command_id: "t",
            stage_index: 1,
            argv: ["cat"],
            cwd: "",
            uid: 0,
            gid: 0,
            timeout_seconds: 30
          }
        ])
        const [done] = logs.events("shell_command_done")
        expect(done).toMatchObject({ command_id: "t", outcome: "completed", final_exit_code: 0, timed_out: false })
        expect(done?.duration).toEqual(expect.any(Number))
      })
    )
  })

  it.live("print_output echoes the output through the ProgressReporter; without the flag nothing is echoed", () => {
    const recorder = echoRecorder()
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("quiet", sh("echo quiet-output"))
        yield* sink.terminal("quiet")
        expect(recorder.echoed()).toBe("")
        yield* shells.run("loud", sh("echo hook-output; echo more >&2", { printOutput: true }))
        yield* sink.terminal("loud")
        expect(recorder.echoed()).toBe("hook-output\nmore\n")
        expect(sink.output("loud").toString()).toBe("hook-output\nmore\n")
      }), { reporter: recorder.layer })
  })

  it.live("print_output without a ProgressReporter still runs the command", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("loud", sh("echo hook-output", { printOutput: true }))
        expect(doneCode(yield* sink.terminal("loud"))).toBe(0)
        expect(sink.output("loud").toString()).toBe("hook-output\n")
      })
    )
  })

  it.live("exit_on_non_zero: exit 3 asks for exit 3 after Done was handed to the sink", () => {
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run("x3", sh("exit 3", { exitOnNonZero: true }))
        const request = yield* sink.waitForExitRequest
        expect(request).toMatchObject({ commandId: "x3", finalExitCode: 3 })
        const doneAt = sink.responses.findIndex((r) => r.commandId === "x3" && doneCode(r) === 3)
        expect(doneAt).toBeGreaterThanOrEqual(0)
        expect(request.sentBefore).toBeGreaterThan(doneAt)
        expect(logs.events("command_exit_on_non_zero")).toMatchObject([
          { command_id: "x3", final_exit_code: 3, mirrored_exit_code: 3 }
        ])
      })
    )
  })

  it.live("exit_on_non_zero: a signal death (-1) asks for exit, mirrored as 1", () => {
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run("k", sh("kill -KILL $$", { exitOnNonZero: true }))
        expect(yield* sink.waitForExitRequest).toMatchObject({ commandId: "k", finalExitCode: -1 })
        expect(stageExits(sink.of("k"))).toEqual([{ stageIndex: 0, exitCode: -1, signo: 9 }])
        expect(logs.events("command_exit_on_non_zero")).toMatchObject([{ final_exit_code: -1, mirrored_exit_code: 1 }])
      })
    )
  })

  it.live("exit_on_non_zero: not for exit 0, not without the flag", () => {
    const { layer, logs } = executorLayer()
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { shells, sink } = yield* Scope.provide(openSession(), scope)
      yield* shells.run("ok", sh("exit 0", { exitOnNonZero: true }))
      yield* shells.run("noflag", sh("exit 3"))
      yield* eventually(() => logs.events("shell_command_done").length === 2)
      // Closing the Session waits for both workers: whatever they would request has been requested.
      yield* Scope.close(scope, Exit.void)
      expect(doneCode(yield* sink.terminal("ok"))).toBe(0)
      expect(doneCode(yield* sink.terminal("noflag"))).toBe(3)
      expect(sink.exitRequests).toEqual([])
      expect(logs.events("command_exit_on_non_zero")).toEqual([])
    }).pipe(Effect.provide(layer))
  })
})
