import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { ProcessRegistry } from "../../src/services/ProcessRegistry.js"
import { untilSleepPending, withSleepCount } from "../support/sleeps.js"
import {
  childPids,
  doneCode,
  errorOf,
  eventually,
  executorLayer,
  inSession,
  installLeakCheck,
  openSession,
  payloadCase,
  processState,
  shell,
  stage,
  stageExits
} from "./shellHarness.js"

installLeakCheck()

const sleeper = () => shell([stage(["sleep", "100"])])

describe("ShellExecutor: signals", () => {
  it.live("Signal 15 to sleep 100: StageExit{signo 15, exit_code -1}, Done{-1}", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("s", sleeper())
        yield* sink.started("s")
        yield* shells.signal("s", 15)
        expect(doneCode(yield* sink.terminal("s"))).toBe(-1)
        expect(stageExits(sink.of("s"))).toEqual([{ stageIndex: 0, exitCode: -1, signo: 15 }])
      })
    )
  })

  it.live("a signal goes to the pipeline's process group once: every stage still running gets it", () => {
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run("p", shell([stage(["true"]), stage(["sleep", "100"])]))
        yield* sink.waitFor((r) => r.commandId === "p" && r.payload?.$case === "stageExit")
        yield* shells.signal("p", 15)
        expect(doneCode(yield* sink.terminal("p"))).toBe(-1)
        expect(stageExits(sink.of("p"))).toEqual([
          { stageIndex: 0, exitCode: 0, signo: 0 },
          { stageIndex: 1, exitCode: -1, signo: 15 }
        ])
        expect(logs.events("session_signal_after_exit")).toEqual([])
        expect(logs.events("session_signal_forward_failed")).toEqual([])
        // The Signal itself got no reply.
        expect(sink.of("p").filter((r) => payloadCase(r) === "error")).toEqual([])
      })
    )
  })

  it.live("a signal for a command whose group is gone (its output held by a setsid'd process) is logged at debug, not sent", () => {
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run("p", shell([stage(["sh", "-c", "setsid sh -c 'echo up; exec sleep 1' >&2 &"])]))
        yield* sink.waitFor((r) => r.commandId === "p" && r.payload?.$case === "stageExit")
        yield* eventually(() => sink.output("p").toString() === "up\n")
        yield* shells.signal("p", 15)
        expect(doneCode(yield* sink.terminal("p"))).toBe(0)
        expect(logs.events("session_signal_after_exit")).toMatchObject([{ level: "debug", command_id: "p", signo: 15 }])
        expect(logs.events("session_signal_forward_failed")).toEqual([])
      })
    )
  })

  it.live("signo 0, negative or above 64: INVALID_REQUEST, checked before the id; an unknown id: UNKNOWN_COMMAND_ID", () => {
    return inSession(({ shells }) =>
      Effect.gen(function*() {
        for (const signo of [0, -3]) {
          expect(yield* Effect.flip(shells.signal("ghost", signo))).toMatchObject({
            code: ErrorCode.ERROR_CODE_INVALID_REQUEST,
            message: "signal: signo must be a positive integer"
          })
        }
        expect(yield* Effect.flip(shells.signal("ghost", 99))).toMatchObject({
          code: ErrorCode.ERROR_CODE_INVALID_REQUEST,
          message: "signal: signo 99 is above the highest signal number 64"
        })
        expect(yield* Effect.flip(shells.signal("ghost", 15))).toMatchObject({
          code: ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID,
          message: "signal: no running command with that id"
        })
      })
    )
  })

  it.live("a real-time signal number (36) is delivered to the stage", () => {
    // The signal goes to the stage's group, so the sleep may be gone already (or, caught between fork
    // and exec, may not be): the trap's kill must not care.
    const script = "trap 'kill $! 2>/dev/null; echo got-36; exit 5' 36; sleep 100 & echo ready; wait"
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run("rt", shell([stage(["sh", "-c", script])]))
        yield* sink.waitFor((r) => r.commandId === "rt" && payloadCase(r) === "output")
        yield* shells.signal("rt", 36)
        expect(doneCode(yield* sink.terminal("rt"))).toBe(5)
        expect(sink.output("rt").toString()).toBe("ready\ngot-36\n")
        expect(logs.events("session_signal_forward_failed")).toEqual([])
      })
    )
  })
})

describe("ShellExecutor: timeout and teardown", () => {
  it.effect("timeout (TestClock): SIGKILL, StageExit{-1, 9}, then Error{TIMEOUT}; no Done", () =>
    // Effect 4 has no TestClock.sleeps(): count the sleeps through a wrapping Clock (test/support/sleeps.ts).
    withSleepCount((pendingSleeps) =>
      inSession(({ logs, shells, sink }) =>
        Effect.gen(function*() {
          yield* shells.run("slow", shell([stage(["sleep", "100"])], { timeoutSeconds: 7 }))
          yield* sink.started("slow")
          // The timer is armed right after Started was handed over; wait until it is.
          yield* untilSleepPending(pendingSleeps)
          yield* TestClock.adjust("6 seconds")
          expect(sink.of("slow").map(payloadCase)).toEqual(["started"])
          yield* TestClock.adjust("1 second")
          const end = yield* sink.terminal("slow")
          expect(errorOf(end)).toEqual({
            code: ErrorCode.ERROR_CODE_TIMEOUT,
            message: "pipeline killed after 7s timeout"
          })
          expect(sink.of("slow").map(payloadCase)).toEqual(["started", "stageExit", "error"])
          expect(stageExits(sink.of("slow"))).toEqual([{ stageIndex: 0, exitCode: -1, signo: 9 }])
          yield* eventually(() => logs.events("shell_command_done").length === 1)
          expect(logs.events("shell_command_done")).toMatchObject([
            { command_id: "slow", outcome: "timeout", timed_out: true, final_exit_code: -1 }
          ])
        })
      )
    ))

  it.effect("a command that ends before its timeout gets Done, and the timer is gone", () =>
    inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("quick", shell([stage(["true"])], { timeoutSeconds: 5 }))
        expect(doneCode(yield* sink.terminal("quick"))).toBe(0)
        yield* TestClock.adjust("10 seconds")
        expect(sink.of("quick").map(payloadCase)).toEqual(["started", "stageExit", "done"])
      })
    ))

  it.live("killAll SIGKILLs every running command (4 of 4); each still ends with StageExit and Done{-1}", () => {
    const ids = ["k1", "k2", "k3", "k4"]
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        for (const id of ids) yield* shells.run(id, sleeper())
        for (const id of ids) yield* sink.started(id)
        expect(yield* shells.runningCount).toBe(4)
        yield* shells.killAll
        for (const id of ids) {
          expect(doneCode(yield* sink.terminal(id))).toBe(-1)
          expect(stageExits(sink.of(id))).toEqual([{ stageIndex: 0, exitCode: -1, signo: 9 }])
        }
        expect(yield* shells.runningCount).toBe(0)
      })
    )
  })

  it.live("closing the Session's scope kills and reaps a running sleep", () => {
    const { layer, logs } = executorLayer()
    return Effect.gen(function*() {
      const registry = yield* ProcessRegistry
      const scope = yield* Scope.make()
      const { shells, sink } = yield* Scope.provide(openSession(), scope)
      yield* shells.run("s", sleeper())
      yield* sink.started("s")
      const [pid] = childPids()
      expect(pid).toBeDefined()
      expect(registry.owns(pid!)).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(processState(pid!)).toBeUndefined()
      expect(registry.owns(pid!)).toBe(false)
      expect(logs.events("shell_command_done")).toMatchObject([{ command_id: "s", outcome: "incomplete" }])
    }).pipe(Effect.provide(layer))
  })
})

describe("ShellExecutor: crash safety", () => {
  it.live("a crashing stage waiter still reports the stage and the command still ends", () => {
    let crashed = false
    const intercept = (r: { payload?: { $case: string } | undefined }) =>
      r.payload?.$case === "stageExit" && !crashed
        ? Effect.suspend(() => {
          crashed = true
          return Effect.die(new Error("waiter boom"))
        })
        : Effect.void
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run("w", shell([stage(["true"])]))
        const end = yield* sink.terminal("w")
        expect(["done", "error"]).toContain(payloadCase(end))
        expect(stageExits(sink.of("w"))).toEqual([{ stageIndex: 0, exitCode: -1, signo: 0 }])
        expect(logs.events("shell_stage_reaper_panic")).toMatchObject([{ command_id: "w", stage_index: 0 }])
      }), { intercept })
  })

  it.live("a crash in the worker kills the stages and still ends with one terminal Error (outcome incomplete)", () => {
    const intercept = (r: { payload?: { $case: string } | undefined }) =>
      r.payload?.$case === "started" ? Effect.die(new Error("worker boom")) : Effect.void
    return inSession(({ shells, sink, logs }) =>
      Effect.gen(function*() {
        yield* shells.run("w", sleeper())
        const end = yield* sink.terminal("w")
        expect(errorOf(end)).toEqual({
          code: ErrorCode.ERROR_CODE_IO_ERROR,
          message: "shell: worker crashed: worker boom"
        })
        expect(sink.of("w").map(payloadCase)).toEqual(["error"])
        yield* eventually(() => logs.events("shell_command_done").length === 1)
        expect(logs.events("shell_worker_crashed")).toMatchObject([{ command_id: "w", error: "worker boom" }])
        expect(logs.events("shell_command_done")).toMatchObject([{ outcome: "incomplete", final_exit_code: -1 }])
        expect(childPids()).toEqual([])
      }), { intercept })
  })
})
