import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { execEnvironment } from "../../src/platform/execEnvironment.js"
import { AgentState } from "../../src/services/AgentState.js"
import { ProcessRegistry } from "../../src/services/ProcessRegistry.js"
import { Supervisor } from "../../src/services/Supervisor.js"
import { TESTER, writeAccounts } from "../support/accounts.js"
import { scopedProcessEnv, tempDir } from "../support/fixtures.js"
import { captureLogsScoped } from "../support/logs.js"
import { isRoot } from "../support/pidns.js"
import { configFrom, supervisorLayers } from "../support/supervisorLayers.js"

if (!isRoot) console.log("supervisor integration tests skipped: spawning as another user needs root")

/** What clawkerd sets for the target user (spec §4); everything else is the image's. */
const REPLACED = new Set(["HOME", "USER", "LOGNAME"])
/** What sh maintains itself. */
const SHELL_SET = new Set(["PWD", "SHLVL", "_", "OLDPWD"])

/**
 * The Supervisor in this process, over real processes run as the test account. `script` is an
 * executable in the home that writes its argv, one per line, to `out` (also in the home).
 */
const setup = (userCmd: (paths: { script: string; out: string }) => ReadonlyArray<string>, user = "tester") =>
  Effect.gen(function*() {
    const dir = yield* Effect.promise(() => tempDir())
    fs.chmodSync(dir, 0o755)
    const accounts = yield* Effect.promise(() => writeAccounts(dir))
    const out = path.join(accounts.home, "out")
    const script = path.join(accounts.home, "record")
    fs.writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$@" > ${out}\n`, { mode: 0o755 })
    const readyFile = path.join(dir, "run", "clawker", "ready")
    const config = yield* configFrom({
      CLAWKER_USER: user,
      CLAWKERD_PASSWD_FILE: accounts.passwd,
      CLAWKERD_GROUP_FILE: accounts.group,
      CLAWKERD_READY_FILE: readyFile
    }, userCmd({ script, out }))
    const logs = yield* captureLogsScoped
    const context = yield* Layer.build(supervisorLayers(config))
    const lines = () => fs.readFileSync(out, "utf8").split("\n").slice(0, -1)
    return {
      supervisor: Context.get(context, Supervisor),
      agentState: Context.get(context, AgentState),
      registry: Context.get(context, ProcessRegistry),
      logs,
      lines,
      dir,
      home: accounts.home,
      script,
      readyFile
    }
  })

describe.skipIf(!isRoot)("Supervisor.spawn with real processes", () => {
  // clawkerd's own PATH, which the lookup reads: the system's directories only.
  const originalPath = process.env.PATH
  beforeAll(() => {
    process.env.PATH = "/usr/local/bin:/usr/bin:/bin"
  })
  afterAll(() => {
    process.env.PATH = originalPath
  })

  it.live("runs the CMD as the user, in clawkerd's working directory, with HOME/USER/LOGNAME replaced and the rest inherited", () =>
    Effect.gen(function*() {
      const [inherited] = Object.entries(execEnvironment()).filter(([name, value]) =>
        /^[A-Z][A-Z0-9_]*$/.test(name) && !REPLACED.has(name) && !SHELL_SET.has(name) && !value.includes("\n")
      ).map(([name]) => name)
      const t = yield* setup(({ script }) => [
        "sh",
        "-c",
        `${script} "$HOME" "$USER" "$LOGNAME" "$PWD" "$${inherited}" "$(id -u):$(id -g):$(id -G)"`
      ])
      expect(yield* t.supervisor.spawn("")).toBe("spawned")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.lines()).toEqual([
        t.home,
        "tester",
        "tester",
        process.cwd(),
        execEnvironment()[inherited!],
        `${TESTER.uid}:${TESTER.gid}:4242 4243`
      ])
      expect(t.logs.events("spawn_started")).toMatchObject([{
        uid: 4242,
        gid: 4242,
        groups: [4243],
        cwd: process.cwd()
      }])
      expect(t.logs.events("spawn_main_reaped")).toMatchObject([{ code: 0, signal: null, exit_code: 0 }])
    }))

  it.live("the CMD's environment is the one clawkerd was exec'd with, whatever its runtime set or unset since, minus CLAWKERD_*", () =>
    Effect.gen(function*() {
      const atExec = execEnvironment()
      const [unset] = Object.keys(atExec).filter((name) =>
        !REPLACED.has(name) && !SHELL_SET.has(name) && name !== "PATH"
      )
      yield* scopedProcessEnv({ NODE_OPTIONS_SET_LATER: "--max-old-space-size=64", CLAWKERD_LOG_LEVEL: "debug" })
      const removed = process.env[unset!]
      delete process.env[unset!]
      yield* Effect.addFinalizer(() => Effect.sync(() => (process.env[unset!] = removed)))
      const t = yield* setup(({ script }) => ["sh", "-c", `${script} "$(env -0 | tr '\\0\\n' '\\n ')"`])
      yield* t.supervisor.spawn("")
      expect(yield* t.supervisor.exited).toBe(0)
      const got = Object.fromEntries(
        t.lines().map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)])
      )
      // What sh itself maintains, and what clawkerd sets for the user, are compared apart.
      const apart = new Set([...REPLACED, ...SHELL_SET])
      const kept = (env: Readonly<Record<string, string>>) =>
        Object.fromEntries(Object.entries(env).filter(([name]) => !apart.has(name)))
      const expected = Object.fromEntries(
        Object.entries(kept(atExec)).filter(([name]) => !name.startsWith("CLAWKERD_")).map(([k, v]) => [
          k,
          v.replace(/\n/g, " ")
        ])
      )
      expect(kept(got)).toEqual(expected)
      expect(expected).toHaveProperty(unset!)
      expect([got.HOME, got.USER, got.LOGNAME]).toEqual([t.home, "tester", "tester"])
    }))

  it.live("a CMD killed by a real-time signal exits 128 + its number (waitid's status, not Node's code 0)", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["bash", "-c", "kill -s RTMIN+6 $$"])
      yield* t.supervisor.spawn("")
      const signo = 34 + 6 // glibc's SIGRTMIN is 34
      expect(yield* t.supervisor.exited).toBe(128 + signo)
      expect(t.logs.events("spawn_main_reaped")).toMatchObject([{ code: null, signal: signo, exit_code: 128 + signo }])
    }))

  it.live("stop is over when the main child is reaped, though a group member ignores SIGTERM", () =>
    Effect.gen(function*() {
      const t = yield* setup(({ out }) => [
        "sh",
        "-c",
        `(trap '' TERM; exec sleep 100) & echo $! > ${out}; exec sleep 100`
      ])
      yield* t.supervisor.spawn("")
      while (!fs.existsSync(path.join(t.home, "out")) || t.lines().length === 0) yield* Effect.sleep(Duration.millis(5))
      const straggler = Number(t.lines()[0])
      const pgid = t.logs.events("spawn_started")[0]?.pid as number
      yield* Effect.addFinalizer(() => Effect.sync(() => process.kill(-pgid, "SIGKILL")))
      // A grace far beyond the test's timeout: only returning on the main child's reap passes.
      expect(yield* t.supervisor.stop(Duration.minutes(10))).toEqual(Option.some(143))
      expect(t.logs.events("spawn_stop_sigkill")).toHaveLength(0)
      expect(() => process.kill(straggler, 0)).not.toThrow()
    }))

  it.live("user:group runs the CMD with that gid and no supplementary groups", () =>
    Effect.gen(function*() {
      const t = yield* setup(({ script }) => ["sh", "-c", `${script} "$(id -u):$(id -g):$(id -G)"`], "tester:other")
      expect(yield* t.supervisor.spawn("")).toBe("spawned")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.lines()).toEqual([`${TESTER.uid}:4244:4244`])
    }))

  it.live("writes the ready file (parents created) with clawkerd's start time and marks the CMD running after the spawn", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["sh", "-c", "exit 4"])
      expect(yield* t.agentState.cmdRunning).toBe(false)
      expect(fs.existsSync(t.readyFile)).toBe(false)
      yield* t.supervisor.spawn("")
      // It holds clawkerd's start time, which the image's HEALTHCHECK compares with PID 1's.
      const stat = execFileSync("sh", ["-c", `sed 's/.*) //' /proc/${process.pid}/stat | cut -d' ' -f20`], {
        encoding: "utf8"
      })
      expect(fs.readFileSync(t.readyFile, "utf8")).toBe(stat.trim())
      expect(yield* t.agentState.cmdRunning).toBe(true)
      expect(yield* t.supervisor.spawned).toBe(true)
      expect(yield* t.supervisor.exited).toBe(4)
    }))

  it.live("an unwritable ready file is logged and tolerated", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["true"])
      fs.mkdirSync(path.dirname(path.dirname(t.readyFile)), { recursive: true })
      fs.writeFileSync(path.dirname(t.readyFile), "a file where the directory should be")
      expect(yield* t.supervisor.spawn("")).toBe("spawned")
      expect(t.logs.events("spawn_ready_file_touch_failed")).toMatchObject([{ level: "error", path: t.readyFile }])
    }))

  it.live("a user whose home does not exist still runs, with HOME set to it", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["sh", "-c", `[ "$HOME" = /nonexistent ]`], "nohome")
      yield* t.supervisor.spawn("")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.logs.events("spawn_started")).toMatchObject([{ uid: 4300 }])
    }))

  it.live("concurrent spawns start one child: one spawned, the rest already-spawned", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["sh", "-c", "exit 0"])
      const outcomes = yield* Effect.all(Array.from({ length: 5 }, () => t.supervisor.spawn("")), {
        concurrency: "unbounded"
      })
      expect(outcomes.filter((o) => o === "spawned")).toHaveLength(1)
      expect(outcomes.filter((o) => o === "already-spawned")).toHaveLength(4)
      expect(t.logs.events("spawn_started")).toHaveLength(1)
      expect(yield* t.supervisor.exited).toBe(0)
      expect(yield* t.registry.size).toBe(0)
    }))

  it.live("a program not on PATH is a SpawnError naming it; nothing counts as spawned, a retry gets the same", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["no-such-program-here", "x"])
      const failure = yield* Effect.flip(t.supervisor.spawn(""))
      expect(failure.message).toBe(
        `clawkerd: lookup "no-such-program-here": exec: "no-such-program-here": executable file not found in $PATH`
      )
      expect(yield* t.supervisor.spawned).toBe(false)
      expect(yield* t.agentState.cmdRunning).toBe(false)
      expect(fs.existsSync(t.readyFile)).toBe(false)
      expect(t.logs.events("spawn_started")).toHaveLength(0)
      // spawning is single-shot: a later AgentReady, even with a default_cmd, gets the first answer
      expect((yield* Effect.flip(t.supervisor.spawn(t.script))).message).toBe(failure.message)
      expect(t.logs.events("spawn_started")).toHaveLength(0)
    }))

  it.live("a file that is not executable is a SpawnError (EACCES) from the exec, as the reference's", () =>
    Effect.gen(function*() {
      const t = yield* setup(({ out }) => [out])
      const file = path.join(t.home, "out")
      fs.writeFileSync(file, "data", { mode: 0o644 })
      const failure = yield* Effect.flip(t.supervisor.spawn(""))
      expect(failure.message).toBe(`clawkerd: spawn "${file}": fork/exec ${file}: permission denied`)
    }))

  it.live("an exec failure in the shim (missing interpreter) is the SpawnError, with the shim's errno", () =>
    Effect.gen(function*() {
      const t = yield* setup(({ out }) => [out])
      const file = path.join(t.home, "out")
      fs.writeFileSync(file, "#!/clawkerd-no-such-interpreter\n", { mode: 0o755 })
      const failure = yield* Effect.flip(t.supervisor.spawn(""))
      expect(failure.message).toBe(`clawkerd: spawn "${file}": fork/exec ${file}: no such file or directory`)
      // the shim exits 127 by itself and is reaped
      while ((yield* t.registry.size) > 0) yield* Effect.sleep(Duration.millis(5))
    }))

  it.live("an executable without a #! line is a SpawnError (ENOEXEC), never run by /bin/sh", () =>
    Effect.gen(function*() {
      const t = yield* setup(({ out }) => [out])
      const file = path.join(t.home, "out")
      fs.writeFileSync(file, `echo ran-by-sh > ${file}.ran\n`, { mode: 0o755 })
      const failure = yield* Effect.flip(t.supervisor.spawn(""))
      expect(failure.message).toBe(`clawkerd: spawn "${file}": fork/exec ${file}: exec format error`)
      while ((yield* t.registry.size) > 0) yield* Effect.sleep(Duration.millis(5))
      expect(fs.existsSync(`${file}.ran`)).toBe(false)
      expect(yield* t.supervisor.spawned).toBe(false)
    }))

  it.live("an empty argv is a SpawnError, even with a default_cmd", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => [])
      const failure = yield* Effect.flip(t.supervisor.spawn(t.script))
      expect(failure.message).toBe("clawkerd: empty argv; container CMD is required")
    }))

  it.live("--help routing: an option as argv[0] is looked up as is without default_cmd", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["--help", "me"])
      const asIs = yield* Effect.flip(t.supervisor.spawn(""))
      expect(asIs.message).toBe(`clawkerd: lookup "--help": exec: "--help": executable file not found in $PATH`)
    }))

  it.live("--help routing: with a default_cmd (one program, not split) an option goes to it", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["--help", "me"])
      expect(yield* t.supervisor.spawn(t.script)).toBe("spawned")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.lines()).toEqual(["--help", "me"])
      expect(t.logs.events("spawn_argv_routed_to_default_cmd")).toMatchObject([
        {
          level: "warn",
          default_cmd: t.script,
          orig_argv0: "--help",
          routed_argv: [t.script, "--help", "me"],
          error: "argv[0] starts with -",
          argv: ["--help", "me"]
        }
      ])
    }))

  it.live("argv whose program is on PATH runs as is, even with a default_cmd", () =>
    Effect.gen(function*() {
      const t = yield* setup(({ script }) => [script, "as-is"])
      yield* t.supervisor.spawn("false")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.lines()).toEqual(["as-is"])
      expect(t.logs.events("spawn_argv_routed_to_default_cmd")).toHaveLength(0)
    }))

  it.live("once stop was called, spawn refuses", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["true"])
      yield* t.supervisor.stop(Duration.seconds(1))
      const failure = yield* Effect.flip(t.supervisor.spawn(""))
      expect(failure.message).toBe("clawkerd is shutting down")
    }))

  it.live("a signal that arrives while the CMD is being launched is held, then sent to it", () =>
    Effect.gen(function*() {
      // The CMD signals clawkerd (this process) the moment it runs: before or just after the status
      // pipe told clawkerd so. Either way the signal is the CMD's, never dropped. Root, to signal root.
      const t = yield* setup(({ out }) => [
        "sh",
        "-c",
        `trap 'echo got-USR2 > ${out}; exit 0' USR2; kill -USR2 $PPID; while :; do sleep 0.05; done`
      ], "root")
      expect(yield* t.supervisor.spawn("")).toBe("spawned")
      expect(yield* Effect.timeout(t.supervisor.exited, Duration.seconds(20))).toBe(0)
      expect(t.lines()).toEqual(["got-USR2"])
      expect(t.logs.events("spawn_signal_dropped_no_pgid")).toEqual([])
    }))

  it.live("a forwardable signal before the spawn is logged as not forwarded", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["true"])
      process.kill(process.pid, "SIGUSR2")
      while (t.logs.events("spawn_signal_dropped_no_pgid").length === 0) yield* Effect.sleep(Duration.millis(5))
      expect(t.logs.events("spawn_signal_dropped_no_pgid")).toMatchObject([
        { signal: "SIGUSR2", reason: "the user CMD is not running" }
      ])
    }))
})
