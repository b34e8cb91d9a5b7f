import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { ExitRequestLive } from "../../src/layers/lifecycle/ExitRequestLive.js"
import { EXIT_TRANSIENT } from "../../src/lib/exitCodes.js"
import { serve } from "../../src/programs/main.js"
import { ExitRequest } from "../../src/services/ExitRequest.js"
import { Listener, ListenerFatal } from "../../src/services/Listener.js"
import { MemoryReclaim } from "../../src/services/MemoryReclaim.js"
import { Reaper } from "../../src/services/Reaper.js"
import { ShutdownSignal } from "../../src/services/ShutdownSignal.js"
import { Supervisor } from "../../src/services/Supervisor.js"
import { configFrom } from "../support/config.js"
import { captureLogs } from "../support/logs.js"

/*
 * main's race in process, on the TestClock, with fake layers for what it waits on: a shutdown signal, the
 * user CMD's exit, a listener fatal, a requested exit. The fake CMD ignores SIGTERM, so a stop takes the
 * whole grace and ends in SIGKILL (137).
 */

const GRACE = Duration.seconds(5)

const fakeDaemon = (spawnFailure: Option.Option<string> = Option.none()) =>
  Effect.gen(function*() {
    const childExit = yield* Deferred.make<number>()
    const signal = yield* Deferred.make<NodeJS.Signals>()
    const fatal = yield* Deferred.make<never, ListenerFatal>()
    const steps: Array<string> = []
    const logs = captureLogs()
    const requests = yield* Effect.scoped(Layer.build(ExitRequestLive))
    const layer = Layer.mergeAll(
      Layer.succeed(Supervisor, {
        spawn: () => Effect.succeed("spawned" as const),
        spawned: Effect.succeed(true),
        spawnFailure: Effect.succeed(spawnFailure),
        answering: (reply) => reply,
        exited: Deferred.await(childExit),
        stop: (grace) =>
          Effect.sync(() => steps.push(`stop ${Duration.format(grace)}`)).pipe(
            Effect.andThen(Effect.sleep(grace)),
            Effect.as(Option.some(137))
          )
      }),
      Layer.succeed(ShutdownSignal, { received: Deferred.await(signal) }),
      Layer.succeed(Listener, { address: { host: "127.0.0.1", port: 7700 }, fatal: Deferred.await(fatal) }),
      Layer.succeed(Reaper, {
        reapOrphans: Effect.succeed(0),
        drain: () => Effect.die("no drain in main's race"),
        lastDrain: Effect.succeed(Option.none())
      }),
      Layer.succeedContext(requests),
      MemoryReclaim.disabled,
      configFrom({ CLAWKERD_STOP_GRACE: "5s" }),
      logs.layer
    )
    const running = yield* Effect.forkChild(Effect.provide(serve, layer))
    // Let main reach its race before anything wakes it.
    yield* Effect.yieldNow
    return { childExit, signal, fatal, steps, logs, running, exits: Context.get(requests, ExitRequest) }
  })

/** Still waiting after `elapsed`, done after the rest of the grace. */
const takesTheGrace = (running: Fiber.Fiber<unknown, unknown>) =>
  Effect.gen(function*() {
    yield* TestClock.adjust(Duration.subtract(GRACE, Duration.millis(1)))
    expect(running.pollUnsafe()).toBeUndefined()
    yield* TestClock.adjust(Duration.millis(1))
  })

describe("main's race", () => {
  it.effect("the CMD's own exit wins: its code, and nothing is stopped", () =>
    Effect.gen(function*() {
      const daemon = yield* fakeDaemon()
      yield* Deferred.succeed(daemon.childExit, 3)
      const ending = yield* Fiber.join(daemon.running)
      expect(ending).toMatchObject({ code: 3, fatal: undefined, error: undefined })
      expect(daemon.steps).toEqual([])
      expect(daemon.logs.events("main_child_exited")).toMatchObject([{ exit_code: 3 }])
    }))

  it.effect("a shutdown signal stops the CMD with the configured grace: SIGKILL after the whole of it", () =>
    Effect.gen(function*() {
      const daemon = yield* fakeDaemon()
      yield* Deferred.succeed(daemon.signal, "SIGTERM")
      yield* takesTheGrace(daemon.running)
      expect(yield* Fiber.join(daemon.running)).toMatchObject({ code: 137, fatal: undefined })
      expect(daemon.steps).toEqual(["stop 5s"])
    }))

  it.effect("a listener fatal stops the CMD and names the failure", () =>
    Effect.gen(function*() {
      const daemon = yield* fakeDaemon()
      yield* Deferred.fail(daemon.fatal, new ListenerFatal({ message: "socket gone" }))
      yield* takesTheGrace(daemon.running)
      expect(yield* Fiber.join(daemon.running)).toMatchObject({ code: 137, fatal: "socket gone" })
      expect(daemon.steps).toEqual(["stop 5s"])
      expect(daemon.logs.events("listener_fatal_received")).toMatchObject([{ error: "socket gone" }])
    }))

  it.effect("a requested exit runs the asking Session's Stop first, then stops the CMD; a later signal changes nothing", () =>
    Effect.gen(function*() {
      const daemon = yield* fakeDaemon()
      yield* daemon.exits.request(3, Effect.sync(() => void daemon.steps.push("session stop")))
      yield* Deferred.succeed(daemon.signal, "SIGTERM")
      yield* takesTheGrace(daemon.running)
      expect(yield* Fiber.join(daemon.running)).toMatchObject({ code: 3, fatal: undefined, error: undefined })
      expect(daemon.steps).toEqual(["session stop", "stop 5s"])
      expect(daemon.logs.events("command_requested_exit")).toMatchObject([{ exit_code: 3 }])
    }))

  it.effect("AgentReady's failed spawn asks for exit 1: the Session's Stop, then the run ends naming the spawn error", () =>
    Effect.gen(function*() {
      const daemon = yield* fakeDaemon(Option.some("no such file"))
      yield* daemon.exits.request(EXIT_TRANSIENT, Effect.sync(() => void daemon.steps.push("session stop")))
      expect(yield* Fiber.join(daemon.running)).toMatchObject({
        code: EXIT_TRANSIENT,
        error: "spawn user CMD: no such file"
      })
      expect(daemon.steps).toEqual(["session stop"])
    }))
})
