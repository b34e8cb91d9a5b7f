import type { Scope } from "effect"
import { Deferred, Duration, Effect, Option, Queue } from "effect"
import * as Log from "../../domain/log.js"
import type { Response } from "../../gen/clawker/clawkerd/v1/clawkerd.js"

/** The spec's sender: queue depth 64, producers wait while it is full. */
export const OUTBOUND_DEPTH = 64
/** Stop waits this long for the sender to flush what is queued. */
export const FLUSH_LIMIT = Duration.seconds(2)

type Item =
  | { readonly _tag: "reply"; readonly response: Response }
  | { readonly _tag: "flush"; readonly done: Deferred.Deferred<void> }

/** Writes one reply to the stream; resolves once the transport took it, fails when it cannot. */
export type WriteReply = (response: Response) => Effect.Effect<void, Error>

export interface Outbound {
  /** Enqueue with backpressure; after cancel the reply is dropped and logged by kind. */
  readonly send: (response: Response) => Effect.Effect<void>
  /** Write everything queued so far, waiting at most FLUSH_LIMIT. */
  readonly flush: Effect.Effect<void>
  /** Later sends are dropped; what is still queued is logged as undelivered. */
  readonly cancel: Effect.Effect<void>
  readonly cancelled: Effect.Effect<void>
}

const payloadType = (response: Response) => response.payload?.$case ?? "unset"

const dropped = (response: Response) => {
  const fields = { command_id: response.commandId, payload_type: payloadType(response) }
  switch (response.payload?.$case) {
    case "done":
    case "error":
    case "registerDone":
      return Log.warn("session_send_dropped_terminal", fields)
    case "started":
    case "output":
    case "stageExit":
      return Log.debug("session_send_dropped_chunk", fields)
    default:
      return Log.warn("session_send_dropped_unknown", fields)
  }
}

/**
 * The only writer of a Session's stream. `afterWrite` runs once a reply was written (the progress
 * reporter's completion line hangs off it). The sender lives in the caller's scope.
 */
export const makeOutbound = (
  write: WriteReply,
  afterWrite: (response: Response) => Effect.Effect<void>
): Effect.Effect<Outbound, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.bounded<Item>(OUTBOUND_DEPTH)
    const cancelledSignal = yield* Deferred.make<void>()
    const cancelled = Deferred.await(cancelledSignal)

    const enqueue = (item: Item) =>
      Effect.raceFirst(Queue.offer(queue, item).pipe(Effect.as(true)), cancelled.pipe(Effect.as(false)))

    const send = (response: Response) =>
      Effect.gen(function*() {
        const accepted = (yield* Deferred.isDone(cancelledSignal)) ? false : yield* enqueue({ _tag: "reply", response })
        if (!accepted) yield* dropped(response)
      })

    const cancel = Effect.gen(function*() {
      if (!(yield* Deferred.succeed(cancelledSignal, undefined))) return
      for (const item of yield* Queue.takeAll(queue)) {
        if (item._tag === "reply") {
          yield* Log.warn("session_send_undelivered_on_teardown", {
            command_id: item.response.commandId,
            payload_type: payloadType(item.response)
          })
        } else {
          yield* Deferred.succeed(item.done, undefined)
        }
      }
    })

    const sender = Effect.gen(function*() {
      while (true) {
        const item = yield* Queue.take(queue)
        if (item._tag === "flush") {
          yield* Deferred.succeed(item.done, undefined)
          continue
        }
        const failure = yield* Effect.flip(write(item.response)).pipe(Effect.option)
        if (Option.isSome(failure) && !(yield* Deferred.isDone(cancelledSignal))) {
          yield* Log.error("session_send_failed", {
            command_id: item.response.commandId,
            payload_type: payloadType(item.response),
            error: failure.value.message
          })
          return yield* cancel
        }
        if (Option.isNone(failure)) yield* afterWrite(item.response)
      }
    })
    yield* Effect.forkScoped(Effect.raceFirst(sender, cancelled))

    const flush = Effect.gen(function*() {
      const done = yield* Deferred.make<void>()
      const finished = yield* enqueue({ _tag: "flush", done }).pipe(
        Effect.zipRight(Deferred.await(done)),
        Effect.raceFirst(cancelled),
        Effect.timeoutOption(FLUSH_LIMIT)
      )
      if (Option.isNone(finished)) yield* Log.warn("session_sender_drain_timeout", { limit: FLUSH_LIMIT })
    })

    return { send, flush, cancel, cancelled }
  })
