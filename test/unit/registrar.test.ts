import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import type { Redacted } from "effect"
import { Deferred, Effect, Fiber, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { BootstrapStoreFromDir } from "../../src/layers/bootstrap/BootstrapStoreLive.js"
import { RegistrarLive } from "../../src/layers/register/RegistrarLive.js"
import { Hydra, HydraError } from "../../src/services/Hydra.js"
import { Registrar } from "../../src/services/Registrar.js"
import { configFrom } from "../support/config.js"
import { bootstrapFixture } from "../support/fixtures.js"
import { captureLogs } from "../support/logs.js"

/*
 * The coordinator's rules with a scripted Hydra: serialisation, caching once the assertion was
 * consumed, a fresh try while it was not, panics contained. No CP is ever reached here: every
 * scripted exchange fails, so nothing dials.
 */

const consumedFailure = new HydraError({
  kind: "http_status",
  consumed: true,
  message: "hydra returned 401: no",
  status: 401
})
const unconsumedFailure = new HydraError({ kind: "not_reached", consumed: false, message: "connect ECONNREFUSED" })

/** A Hydra whose every exchange runs `script` and is counted. */
const scriptedHydra = (calls: Ref.Ref<number>, script: Effect.Effect<Redacted.Redacted<string>, HydraError>) =>
  Layer.succeed(Hydra, { exchange: () => Effect.andThen(Ref.update(calls, (n) => n + 1), script) })

const withRegistrar = <A, E>(
  script: Effect.Effect<Redacted.Redacted<string>, HydraError>,
  body: (calls: Ref.Ref<number>) => Effect.Effect<A, E, Registrar>
) =>
  Effect.gen(function*() {
    const fx = yield* Effect.promise(() => bootstrapFixture())
    const calls = yield* Ref.make(0)
    const logs = captureLogs()
    const layer = RegistrarLive.pipe(
      Layer.provide(scriptedHydra(calls, script)),
      Layer.provide(configFrom({ CLAWKER_CP_HYDRA_URL: "https://127.0.0.1:9", CLAWKER_CP_AGENT_ADDR: "127.0.0.1:9" })),
      Layer.provide(BootstrapStoreFromDir(fx.dir).pipe(Layer.provide(NodeFileSystem.layer), Layer.orDie))
    )
    const result = yield* body(calls).pipe(Effect.provide(layer), Effect.provide(logs.layer))
    return { result, logs, calls: yield* Ref.get(calls) }
  })

const register = Effect.flatMap(Registrar, (r) => r.register)

/** An exchange that says when it started and ends, consumed, only when the gate opens. */
const gatedConsumedFailure = Effect.gen(function*() {
  const entered = yield* Deferred.make<void>()
  const gate = yield* Deferred.make<void>()
  const script = Deferred.succeed(entered, undefined).pipe(
    Effect.andThen(Deferred.await(gate)),
    Effect.andThen(consumedFailure)
  )
  return { entered, gate, script }
})

describe("Registrar coordinator", () => {
  it.effect("a consumed failure is cached: later requests replay it without another exchange", () =>
    Effect.gen(function*() {
      const { calls, logs, result } = yield* withRegistrar(
        consumedFailure,
        () => Effect.all([register, register, register])
      )
      expect(calls).toBe(1)
      expect(new Set(result.map((r) => JSON.stringify(r)))).toEqual(
        new Set([JSON.stringify({ ok: false, error: "hydra token exchange: hydra returned 401: no" })])
      )
      expect(logs.events("register_replay_short_circuit")).toHaveLength(2)
      expect(logs.events("register_assertion_unconsumed")).toHaveLength(0)
    }))

  it.effect("an unconsumed failure is not cached: every request tries again", () =>
    Effect.gen(function*() {
      const { calls, logs, result } = yield* withRegistrar(unconsumedFailure, () =>
        Effect.all([register, register, register]))
      expect(calls).toBe(3)
      for (const r of result) {
        expect(r).toEqual({ ok: false, error: "hydra token exchange: connect ECONNREFUSED" })
      }
      expect(logs.events("register_assertion_unconsumed")).toHaveLength(3)
      expect(logs.events("register_replay_short_circuit")).toHaveLength(0)
    }))

  it.effect("a crash inside becomes RegisterDone{ok:false, \"register panic: …\"}, logged, and is retried", () =>
    Effect.gen(function*() {
      const { calls, logs, result } = yield* withRegistrar(
        Effect.die(new Error("kaboom")),
        () => Effect.all([register, register])
      )
      expect(result).toEqual([
        { ok: false, error: "register panic: kaboom" },
        { ok: false, error: "register panic: kaboom" }
      ])
      expect(calls).toBe(2)
      expect(logs.events("register_panic")).toEqual([
        expect.objectContaining({ level: "error", panic: "kaboom" }),
        expect.objectContaining({ level: "error", panic: "kaboom" })
      ])
    }))

  it.effect("concurrent requests wait for the attempt under way and get its cached outcome", () =>
    Effect.gen(function*() {
      const { entered, gate, script: slowConsumed } = yield* gatedConsumedFailure
      const { calls, logs, result } = yield* withRegistrar(slowConsumed, () =>
        Effect.gen(function*() {
          const first = yield* Effect.forkChild(register)
          yield* Deferred.await(entered)
          const second = yield* Effect.forkChild(register)
          const third = yield* Effect.forkChild(register)
          // Let the other callers run as far as they can before the first attempt ends.
          yield* TestClock.adjust("1 minute")
          yield* Deferred.succeed(gate, undefined)
          return yield* Fiber.joinAll([first, second, third])
        }))
      expect(calls).toBe(1)
      expect(result.map((r) => r.error)).toEqual(Array(3).fill("hydra token exchange: hydra returned 401: no"))
      expect(logs.events("register_replay_short_circuit")).toHaveLength(2)
    }))

  it.effect("a caller that goes away mid-attempt does not lose the outcome of a spent assertion", () =>
    Effect.gen(function*() {
      const { entered, gate, script: slowConsumed } = yield* gatedConsumedFailure
      const { calls, logs, result } = yield* withRegistrar(slowConsumed, () =>
        Effect.gen(function*() {
          const session = yield* Effect.forkChild(register)
          yield* Deferred.await(entered)
          yield* Fiber.interrupt(session)
          yield* Deferred.succeed(gate, undefined)
          return yield* register
        }))
      expect(calls).toBe(1)
      expect(result).toEqual({ ok: false, error: "hydra token exchange: hydra returned 401: no" })
      expect(logs.events("register_replay_short_circuit")).toHaveLength(1)
    }))
})
