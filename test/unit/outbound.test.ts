import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, TestClock } from "effect"
import * as R from "../../src/domain/responses.js"
import type { Response } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { makeOutbound, OUTBOUND_DEPTH } from "../../src/layers/session/outbound.js"
import { captureLogs } from "../support/logs.js"

const started = (id: string): Response => ({ commandId: id, payload: { $case: "started", value: {} } })

describe("Session sender", () => {
  it.scoped("flush writes every queued reply, in order, and does not cancel", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const written: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const out = yield* makeOutbound(
        (r) => Effect.zipRight(Deferred.await(gate), Effect.sync(() => void written.push(r.commandId))),
        () => Effect.void
      ).pipe(Effect.provide(logs.layer))
      for (const id of ["a", "b", "c"]) yield* out.send(R.done(id, 0))
      const flushing = yield* Effect.fork(out.flush)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(flushing)
      expect(written).toEqual(["a", "b", "c"])
      yield* out.send(R.done("d", 0))
      yield* out.flush
      expect(written).toEqual(["a", "b", "c", "d"])
    }))

  it.scoped("flush gives up after 2 s when the stream does not take the replies", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const out = yield* makeOutbound(() => Effect.never, () => Effect.void).pipe(Effect.provide(logs.layer))
      yield* out.send(R.done("stuck", 0))
      const flushing = yield* Effect.fork(out.flush.pipe(Effect.provide(logs.layer)))
      yield* TestClock.adjust("1999 millis")
      expect(flushing.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(flushing)
      expect(logs.events("session_sender_drain_timeout")).toHaveLength(1)
    }))

  it.scoped("producers wait while 64 replies are queued, and cancel releases them as drops", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const out = yield* makeOutbound(() => Effect.never, () => Effect.void)
      yield* out.send(started("in-flight"))
      for (let i = 0; i < OUTBOUND_DEPTH; i++) yield* out.send(started(`q${i}`))
      const blocked = yield* Effect.fork(out.send(R.done("late", 1)))
      yield* Effect.yieldNow()
      expect(blocked.unsafePoll()).toBeNull()
      yield* out.cancel.pipe(Effect.provide(logs.layer))
      yield* Fiber.join(blocked).pipe(Effect.provide(logs.layer))
      expect(logs.events("session_send_undelivered_on_teardown")).toHaveLength(OUTBOUND_DEPTH)
    }))

  it.scoped("after cancel, replies are dropped and classified: terminal, chunk, unknown", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const out = yield* makeOutbound(() => Effect.void, () => Effect.void)
      yield* out.cancel
      yield* out.cancel
      yield* Effect.all([
        out.send(R.done("t1", 0)),
        out.send(R.error("t2", 5, "x")),
        out.send(R.registerDone("t3", true, "")),
        out.send(started("c1")),
        out.send({ commandId: "c2", payload: { $case: "output", value: { data: Buffer.from("x") } } }),
        out.send({ commandId: "c3", payload: { $case: "stageExit", value: { stageIndex: 0, exitCode: 0, signo: 0 } } }),
        out.send(R.helloAck("u1", false, false)),
        out.send({ commandId: "u2", payload: undefined })
      ]).pipe(Effect.provide(logs.layer))
      const ids = (event: string) => logs.events(event).map((e) => e.command_id)
      expect(ids("session_send_dropped_terminal")).toEqual(["t1", "t2", "t3"])
      expect(ids("session_send_dropped_chunk")).toEqual(["c1", "c2", "c3"])
      expect(ids("session_send_dropped_unknown")).toEqual(["u1", "u2"])
    }))

  it.scoped("a write failure logs session_send_failed, cancels, and later sends are dropped", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const out = yield* makeOutbound(() => Effect.fail(new Error("stream reset")), () => Effect.void).pipe(
        Effect.provide(logs.layer)
      )
      yield* out.send(R.done("first", 0))
      yield* out.cancelled
      expect(logs.events("session_send_failed")).toMatchObject([{ command_id: "first", error: "stream reset" }])
      yield* out.send(R.done("second", 0)).pipe(Effect.provide(logs.layer))
      expect(logs.events("session_send_dropped_terminal").map((e) => e.command_id)).toEqual(["second"])
    }))

  it.scoped("afterWrite runs once per reply written, after the write", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const out = yield* makeOutbound(
        (r) => Effect.sync(() => void order.push(`write ${r.commandId}`)),
        (r) => Effect.sync(() => void order.push(`after ${r.commandId}`))
      )
      yield* out.send(R.done("x", 0))
      yield* out.flush
      expect(order).toEqual(["write x", "after x"])
    }))
})
