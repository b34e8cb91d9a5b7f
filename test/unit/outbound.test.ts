import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type { Response } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import type { ReplyStream } from "../../src/layers/session/outbound.js"
import { makeOutbound, OUTBOUND_DEPTH } from "../../src/layers/session/outbound.js"
import * as R from "../../src/wire/responses.js"
import { captureLogs } from "../support/logs.js"

const started = (id: string): Response => ({ commandId: id, payload: { $case: "started", value: {} } })

/**
 * A stream like grpc-js's call: takes each reply at once (wanting no more after `takes` of them, until
 * `drain()`), and calls back in order only when `writeAll()` says the pending ones were written.
 */
const heldStream = (takes = Infinity) => {
  const handed: Array<string> = []
  const pending: Array<(error?: Error | null) => void> = []
  let drain = Deferred.makeUnsafe<void>()
  const stream: ReplyStream = {
    write: (response, written) => {
      handed.push(response.commandId)
      pending.push(written)
      return handed.length < takes
    },
    drained: Effect.suspend(() => Deferred.await(drain))
  }
  return {
    stream,
    handed,
    writeAll: (error?: Error) => pending.splice(0).forEach((written) => written(error)),
    drain: () => {
      const previous = drain
      drain = Deferred.makeUnsafe<void>()
      takes = Infinity
      return Deferred.succeed(previous, undefined)
    }
  }
}

/** Lets every other fiber that can run do so, up to where it waits. */
const settle = Effect.repeat(Effect.yieldNow, { times: 50 })

/** A stream that writes each reply at once (or fails each with `error`). */
const instantStream = (onWrite: (r: Response) => void = () => {}, error?: Error): ReplyStream => ({
  write: (response, written) => {
    onWrite(response)
    written(error)
    return true
  },
  drained: Effect.void
})

describe("Session sender", () => {
  it.effect("flush returns once every queued reply was written, in order, and does not cancel", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const held = heldStream()
      const out = yield* makeOutbound(held.stream, () => Effect.void).pipe(Effect.provide(logs.layer))
      for (const id of ["a", "b", "c"]) yield* out.send(R.done(id, 0))
      const flushing = yield* Effect.forkChild(out.flush)
      yield* settle
      expect(held.handed).toEqual(["a", "b", "c"])
      expect(flushing.pollUnsafe()).toBeUndefined()
      held.writeAll()
      yield* Fiber.join(flushing)
      yield* out.send(R.done("d", 0))
      const again = yield* Effect.forkChild(out.flush)
      yield* settle
      held.writeAll()
      yield* Fiber.join(again)
      expect(held.handed).toEqual(["a", "b", "c", "d"])
    }))

  it.effect("replies go to the stream without waiting for earlier writes, until the stream wants no more", () =>
    Effect.gen(function*() {
      const held = heldStream(3)
      const out = yield* makeOutbound(held.stream, () => Effect.void)
      for (const id of ["a", "b", "c", "d", "e"]) yield* out.send(started(id))
      yield* settle
      expect(held.handed).toEqual(["a", "b", "c"])
      yield* held.drain()
      yield* settle
      expect(held.handed).toEqual(["a", "b", "c", "d", "e"])
    }))

  it.effect("flush gives up after 2 s when the stream does not take the replies", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const out = yield* makeOutbound(heldStream().stream, () => Effect.void).pipe(Effect.provide(logs.layer))
      yield* out.send(R.done("stuck", 0))
      const flushing = yield* Effect.forkChild(out.flush.pipe(Effect.provide(logs.layer)))
      yield* TestClock.adjust("1999 millis")
      expect(flushing.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(flushing)
      expect(logs.events("session_sender_drain_timeout")).toHaveLength(1)
    }))

  it.effect("producers wait while 64 replies are queued, and cancel releases them as drops", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const out = yield* makeOutbound(heldStream(1).stream, () => Effect.void)
      yield* out.send(started("in-flight"))
      for (let i = 0; i < OUTBOUND_DEPTH; i++) yield* out.send(started(`q${i}`))
      const blocked = yield* Effect.forkChild(out.send(R.done("late", 1)))
      yield* Effect.yieldNow
      expect(blocked.pollUnsafe()).toBeUndefined()
      yield* out.cancel.pipe(Effect.provide(logs.layer))
      yield* Fiber.join(blocked).pipe(Effect.provide(logs.layer))
      expect(logs.events("session_send_undelivered_on_teardown")).toHaveLength(OUTBOUND_DEPTH)
    }))

  it.effect("after cancel, replies are dropped and classified: terminal, chunk, unknown", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const out = yield* makeOutbound(instantStream(), () => Effect.void)
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

  it.effect("a write failure logs session_send_failed, cancels, and later sends are dropped", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const out = yield* makeOutbound(instantStream(() => {}, new Error("stream reset")), () => Effect.void).pipe(
        Effect.provide(logs.layer)
      )
      yield* out.send(R.done("first", 0))
      yield* out.cancelled
      expect(logs.events("session_send_failed")).toMatchObject([{ command_id: "first", error: "stream reset" }])
      yield* out.send(R.done("second", 0)).pipe(Effect.provide(logs.layer))
      expect(logs.events("session_send_dropped_terminal").map((e) => e.command_id)).toEqual(["second"])
    }))

  it.effect("afterWrite runs for each terminal reply, in order, once the stream called back for it", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const held = heldStream()
      const out = yield* makeOutbound(held.stream, (r) => Effect.sync(() => void order.push(`after ${r.commandId}`)))
      yield* out.send(R.done("x", 0))
      yield* out.send(started("chunk"))
      yield* out.send(R.error("y", 5, "boom"))
      const flushing = yield* Effect.forkChild(out.flush)
      yield* settle
      expect(held.handed).toEqual(["x", "chunk", "y"])
      expect(order).toEqual([])
      held.writeAll()
      yield* Fiber.join(flushing)
      expect(order).toEqual(["after x", "after y"])
    }))

  it.effect("a failure reported by the write callback logs session_send_failed once and cancels", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const held = heldStream()
      const out = yield* makeOutbound(held.stream, () => Effect.void).pipe(Effect.provide(logs.layer))
      yield* out.send(started("a"))
      yield* out.send(R.done("b", 0))
      yield* settle
      held.writeAll(new Error("stream reset"))
      yield* out.cancelled
      expect(logs.events("session_send_failed")).toMatchObject([{ command_id: "a", error: "stream reset" }])
    }))
})
