import type { Scope } from "effect"
import { Deferred, Duration, Effect, Exit, Option, Queue } from "effect"
import type { Response } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import * as Log from "../../lib/log.js"
import { isTerminal } from "../../wire/responses.js"

/** The spec's sender: queue depth 64, producers wait while it is full. */
export const OUTBOUND_DEPTH = 64
/** Stop waits this long for the sender to flush what is queued. */
export const FLUSH_LIMIT = Duration.seconds(2)

type Item =
  | { readonly _tag: "reply"; readonly response: Response }
  | { readonly _tag: "flush"; readonly done: Deferred.Deferred<void> }

/**
 * The Session's stream as the sender sees it: a Node writable (grpc-js's server call), which writes in
 * order and calls back in order.
 */
export interface ReplyStream {
  /**
   * Hands one reply to the transport; `written` runs once it was written, or with the error that stopped
   * it. False: the transport wants nothing more until `drained`.
   */
  readonly write: (response: Response, written: (error?: Error | null) => void) => boolean
  readonly drained: Effect.Effect<void>
}

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
 * The only writer of a Session's stream. `afterWrite` runs once a terminal reply (Done, Error,
 * RegisterDone) was written, in the order they were (the progress reporter's completion line hangs
 * off it). The sender lives in the caller's scope.
 */
export const makeOutbound = (
  stream: ReplyStream,
  afterWrite: (response: Response) => Effect.Effect<void>
): Effect.Effect<Outbound, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.bounded<Item>(OUTBOUND_DEPTH)
    const cancelledSignal = yield* Deferred.make<void>()
    const cancelled = Deferred.await(cancelledSignal)

    /** Full: wait for room or cancel, whichever comes first. */
    const waitForRoom = (item: Item) =>
      Effect.raceFirst(Queue.offer(queue, item).pipe(Effect.as(true)), cancelled.pipe(Effect.as(false)))
    /** Room in the queue: in at once, without building an effect (a busy command sends one per 32 KiB read). */
    const enqueue = (item: Item) =>
      Effect.suspend(() => (Queue.offerUnsafe(queue, item) ? Effect.succeed(true) : waitForRoom(item)))

    const send = (response: Response) =>
      Effect.suspend(() => {
        if (Deferred.isDoneUnsafe(cancelledSignal)) return dropped(response)
        const item: Item = { _tag: "reply", response }
        if (Queue.offerUnsafe(queue, item)) return Effect.void
        return Effect.flatMap(waitForRoom(item), (accepted) => (accepted ? Effect.void : dropped(response)))
      })

    const cancel = Effect.gen(function*() {
      if (!(yield* Deferred.succeed(cancelledSignal, undefined))) return
      for (const item of yield* Queue.clear(queue)) {
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

    /*
     * Writes are pipelined: the sender hands replies to the stream without waiting for earlier ones to be
     * written, for as long as the stream takes more. Waiting for each write, and waking a fiber per reply,
     * held a command's output to a fraction of what the connection carries (bench/throughput.ts). The
     * stream calls back in order: a chunk's callback just counts it written; a terminal reply's, or a
     * failure, goes to the confirmer fiber, which runs `afterWrite` or ends the Session. A flush waits
     * until everything handed over was written and confirmed.
     */
    let unconfirmed = 0
    let idle: Array<Deferred.Deferred<void>> = []
    const settle = () => {
      if (unconfirmed !== 0) return
      for (const waiter of idle) Deferred.doneUnsafe(waiter, Exit.void)
      idle = []
    }
    const confirmations = yield* Queue.unbounded<{ readonly response: Response; readonly error: Error | undefined }>()
    const confirm = (response: Response) => (error?: Error | null) => {
      if (error == null && !isTerminal(response)) {
        unconfirmed--
        return settle()
      }
      Queue.offerUnsafe(confirmations, { response, error: error ?? undefined })
    }

    const failed = (response: Response, error: Error) =>
      Effect.gen(function*() {
        if (!(yield* Deferred.isDone(cancelledSignal))) {
          yield* Log.error("session_send_failed", {
            command_id: response.commandId,
            payload_type: payloadType(response),
            error: error.message
          })
        }
        yield* cancel
      })

    const confirmer = Effect.gen(function*() {
      while (true) {
        const { error, response } = yield* Queue.take(confirmations)
        if (error !== undefined) return yield* failed(response, error)
        yield* afterWrite(response)
        unconfirmed--
        settle()
      }
    })

    /** Every reply handed to the stream so far was written and confirmed. Checked and joined in one step. */
    const allConfirmed = Effect.suspend(() => {
      if (unconfirmed === 0) return Effect.void
      const waiter = Deferred.makeUnsafe<void>()
      idle.push(waiter)
      return Deferred.await(waiter)
    })

    const sender = Effect.gen(function*() {
      while (true) {
        const item = yield* Queue.take(queue)
        if (item._tag === "flush") {
          yield* allConfirmed
          yield* Deferred.succeed(item.done, undefined)
          continue
        }
        unconfirmed++
        let more: boolean
        try {
          more = stream.write(item.response, confirm(item.response))
        } catch (e) {
          return yield* failed(item.response, e instanceof Error ? e : new Error(String(e)))
        }
        if (!more) yield* stream.drained
      }
    })
    yield* Effect.forkScoped(Effect.raceFirst(Effect.zip(sender, confirmer, { concurrent: true }), cancelled))

    const flush = Effect.gen(function*() {
      const done = yield* Deferred.make<void>()
      const finished = yield* enqueue({ _tag: "flush", done }).pipe(
        Effect.andThen(Deferred.await(done)),
        Effect.raceFirst(cancelled),
        Effect.timeoutOption(FLUSH_LIMIT)
      )
      if (Option.isNone(finished)) yield* Log.warn("session_sender_drain_timeout", { limit: FLUSH_LIMIT })
    })

    return { send, flush, cancel, cancelled }
  })
