import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, Layer, Option, Result } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as path from "node:path"
import { EMPTY_ARGV, planUserCmd } from "../../src/layers/supervisor/userCmd.js"
import { bashExitCode, withFailure } from "../../src/lib/exitCodes.js"
import { lookPath } from "../../src/platform/lookPath.js"
import { FORWARDED_SIGNALS, SHUTDOWN_SIGNALS } from "../../src/platform/signals.js"
import { Supervisor } from "../../src/services/Supervisor.js"
import { writeAccounts } from "../support/accounts.js"
import { tempDir } from "../support/fixtures.js"
import { withCapturedLogs } from "../support/logs.js"
import { isRoot } from "../support/pidns.js"
import { untilSleepPending, withSleepCount } from "../support/sleeps.js"
import { configFrom, supervisorLayers } from "../support/supervisorLayers.js"

if (!isRoot) console.log("supervisor stop tests skipped: spawning as another user needs root")

describe("exit code mapping (bash convention)", () => {
  it.each([
    { code: 0, signal: null, expected: 0 },
    { code: 1, signal: null, expected: 1 },
    { code: 255, signal: null, expected: 255 },
    { code: null, signal: 1, expected: 129 },
    { code: null, signal: 9, expected: 137 },
    { code: null, signal: 15, expected: 143 },
    { code: null, signal: null, expected: 1 }
  ])("code $code, signal $signal → $expected", ({ code, expected, signal }) => {
    expect(bashExitCode(code, signal)).toBe(expected)
  })
})

describe("exit code after a failure on the way out", () => {
  it.each([
    { code: 0, failure: "listener fatal: boom", expected: 1 },
    { code: 0, failure: "orphan drain gave up with 1 process(es) left", expected: 1 },
    { code: 0, failure: undefined, expected: 0 },
    { code: 143, failure: "listener fatal: boom", expected: 143 },
    { code: 3, failure: undefined, expected: 3 }
  ])("code $code with failure $failure → $expected", ({ code, expected, failure }) => {
    expect(withFailure(code, failure)).toBe(expected)
  })
})

describe("default_cmd routing (the --help convention)", () => {
  const onPath = new Set(["claude", "sh", "claude --yes"])
  const plan = (argv: ReadonlyArray<string>, defaultCmd: string) =>
    planUserCmd(
      argv,
      defaultCmd,
      (program) =>
        onPath.has(program)
          ? Result.succeed(`/bin/${program}`)
          : Result.fail(`exec: ${JSON.stringify(program)}: executable file not found in $PATH`)
    )

  it.each([
    { argv: ["--help"], defaultCmd: "claude", expected: ["claude", "--help"], because: "argv[0] starts with -" },
    {
      argv: ["resume", "1"],
      defaultCmd: "claude",
      expected: ["claude", "resume", "1"],
      because: "exec: \"resume\": executable file not found in $PATH"
    },
    { argv: ["sh", "-c", "x"], defaultCmd: "claude", expected: ["sh", "-c", "x"], because: undefined },
    { argv: ["sh"], defaultCmd: "", expected: ["sh"], because: undefined },
    // One program, never split on whitespace: a name with a space is looked up as it is.
    { argv: ["-v"], defaultCmd: "claude --yes", expected: ["claude --yes", "-v"], because: "argv[0] starts with -" }
  ])("$argv with default_cmd $defaultCmd runs $expected", ({ argv, because, defaultCmd, expected }) => {
    expect(Result.getOrThrow(plan(argv, defaultCmd))).toEqual({
      argv: expected,
      file: `/bin/${expected[0]}`,
      routedBecause: because
    })
  })

  it("a name with a \"/\" is the file itself, as the reference runs it: its exec says whether it is there", () => {
    expect(Result.getOrThrow(plan(["./run.sh", "x"], ""))).toEqual({
      argv: ["./run.sh", "x"],
      file: "./run.sh",
      routedBecause: undefined
    })
  })

  it.each([
    { argv: [], defaultCmd: "claude", error: EMPTY_ARGV },
    { argv: [], defaultCmd: "", error: EMPTY_ARGV },
    {
      argv: ["nosuch"],
      defaultCmd: "",
      error: "clawkerd: lookup \"nosuch\": exec: \"nosuch\": executable file not found in $PATH"
    },
    {
      argv: ["--help"],
      defaultCmd: "",
      error: "clawkerd: lookup \"--help\": exec: \"--help\": executable file not found in $PATH"
    },
    {
      argv: ["-v"],
      defaultCmd: "codex",
      error: "clawkerd: lookup \"codex\": exec: \"codex\": executable file not found in $PATH"
    },
    {
      argv: ["nosuch"],
      defaultCmd: "claude yes",
      error: "clawkerd: lookup \"claude yes\": exec: \"claude yes\": executable file not found in $PATH"
    }
  ])("$argv with default_cmd '$defaultCmd' is a spawn failure: $error", ({ argv, defaultCmd, error }) => {
    expect(Result.getFailure(plan(argv, defaultCmd))).toEqual(Option.some(error))
  })
})

describe("program lookup (the reference's exec.LookPath, with clawkerd's own PATH)", () => {
  it("finds executables on PATH, refuses directories and non-executables, finds nothing without PATH", () => {
    const failed = (program: string, reason: string) => Result.fail(`exec: "${program}": ${reason}`)
    expect(lookPath("sh", "/nonexistent:/bin:/usr/bin", "/")).toEqual(Result.succeed("/bin/sh"))
    expect(lookPath("sh", "", "/")).toEqual(failed("sh", "executable file not found in $PATH"))
    expect(lookPath("sh", undefined, "/")).toEqual(failed("sh", "executable file not found in $PATH"))
    expect(lookPath("passwd", "/etc:/usr/bin", "/")).toEqual(Result.succeed("/usr/bin/passwd"))
    expect(lookPath("", "/bin", "/")).toEqual(failed("", "executable file not found in $PATH"))
    expect(lookPath("/bin/sh", undefined, "/")).toEqual(Result.succeed("/bin/sh"))
    expect(lookPath("bin/sh", undefined, "/")).toEqual(Result.succeed("/bin/sh"))
    expect(lookPath("/tmp", undefined, "/")).toEqual(failed("/tmp", "is a directory"))
    expect(lookPath("/etc/passwd", undefined, "/")).toEqual(failed("/etc/passwd", "permission denied"))
    expect(lookPath("/clawkerd-no-such", "/bin", "/")).toEqual(failed("/clawkerd-no-such", "no such file or directory"))
  })
})

describe("forwarded signals", () => {
  it("are the spec's list, SIGTERM (sent once, by stop) and SIGPIPE (raised by our own writes) aside", () => {
    expect([...FORWARDED_SIGNALS].sort()).toEqual(
      ["SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGTSTP", "SIGCONT", "SIGWINCH"].sort()
    )
    expect(SHUTDOWN_SIGNALS).toEqual(["SIGTERM", "SIGINT"])
  })
})

/** The Supervisor, in process, with a user CMD that becomes `sleep` once it is ready. */
const supervised = (script: string) =>
  Effect.gen(function*() {
    const dir = yield* Effect.promise(() => tempDir())
    const accounts = yield* Effect.promise(() => writeAccounts(dir))
    const config = yield* configFrom({
      CLAWKER_USER: "tester",
      CLAWKERD_PASSWD_FILE: accounts.passwd,
      CLAWKERD_GROUP_FILE: accounts.group,
      CLAWKERD_READY_FILE: path.join(dir, "run", "ready")
    }, ["sh", "-c", script])
    const context = yield* Layer.build(supervisorLayers(config))
    return { supervisor: Context.get(context, Supervisor) }
  })

const commOf = (pid: number) => {
  try {
    return /\((.*)\)/.exec(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1]
  } catch {
    return undefined
  }
}

/** Real-time wait (TestClock owns Effect's clock here) until the child exec'd `sleep`. */
const untilSleeping = (pid: number) =>
  Effect.promise(async () => {
    while (commOf(pid) !== "sleep") await new Promise((r) => setTimeout(r, 5))
  })

describe("Supervisor.stop(grace) with TestClock and a real child", () => {
  it.effect("nothing spawned: none, and no signal sent", () =>
    Effect.gen(function*() {
      const { supervisor } = yield* supervised("exec sleep 100")
      expect(yield* supervisor.stop(Duration.seconds(10))).toEqual(Option.none())
      expect(yield* supervisor.spawned).toBe(false)
    }))

  it.effect.skipIf(!isRoot)(
    "a child ignoring SIGTERM gets SIGKILL exactly at the grace, not before",
    () =>
      // Effect 4 has no TestClock.sleeps(): count the sleeps through a wrapping Clock (test/support/sleeps.ts).
      withSleepCount((pendingSleeps) =>
        withCapturedLogs((logs) =>
          Effect.gen(function*() {
            const { supervisor } = yield* supervised("trap '' TERM; exec sleep 100")
            expect(yield* supervisor.spawn("")).toBe("spawned")
            const pid = logs.events("spawn_started")[0]?.pid as number
            yield* untilSleeping(pid)

            const stopping = yield* Effect.forkChild(supervisor.stop(Duration.seconds(10)))
            // Until the stop fiber is parked on the TestClock (its grace timer is scheduled).
            yield* untilSleepPending(pendingSleeps)
            expect(logs.events("spawn_stop_sigterm")).toHaveLength(1)
            yield* TestClock.adjust(Duration.millis(9_999))
            expect(stopping.pollUnsafe()).toBeUndefined()
            expect(logs.events("spawn_stop_sigkill")).toHaveLength(0)
            expect(commOf(pid)).toBe("sleep")

            yield* TestClock.adjust(Duration.millis(1))
            expect(yield* Fiber.join(stopping)).toEqual(Option.some(137))
            expect(logs.events("spawn_stop_sigkill")).toMatchObject([{ pgid: pid, grace: 10_000 }])
            expect(logs.events("spawn_main_reaped")).toMatchObject([{ pid, code: null, signal: 9, exit_code: 137 }])
          })
        )
      )
  )

  it.effect.skipIf(!isRoot)(
    "finishes early, with no clock advance, when the group exits on SIGTERM",
    () =>
      withCapturedLogs((logs) =>
        Effect.gen(function*() {
          const { supervisor } = yield* supervised("exec sleep 100")
          yield* supervisor.spawn("")
          const pid = logs.events("spawn_started")[0]?.pid as number
          yield* untilSleeping(pid)
          expect(yield* supervisor.stop(Duration.seconds(10))).toEqual(Option.some(143))
          expect(yield* supervisor.exited).toBe(143)
          expect(logs.events("spawn_stop_sigkill")).toHaveLength(0)
        })
      )
  )

  it.effect.skipIf(!isRoot)(
    "after the child exited by itself: its code, no signal, and spawn stays single-shot",
    () =>
      withCapturedLogs((logs) =>
        Effect.gen(function*() {
          const { supervisor } = yield* supervised("exit 5")
          yield* supervisor.spawn("")
          expect(yield* supervisor.exited).toBe(5)
          expect(yield* supervisor.stop(Duration.seconds(10))).toEqual(Option.some(5))
          expect(logs.events("spawn_stop_sigterm")).toHaveLength(0)
          expect(yield* supervisor.spawn("")).toBe("already-spawned")
        })
      )
  )
})
