import { Data, Deferred, Effect, Queue, Semaphore } from "effect"
import type { Writable } from "node:stream"
import { ErrorCode } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { errnoText } from "../../lib/errorText.js"
import * as Log from "../../lib/log.js"
import { CommandRejected } from "../../services/ShellExecutor.js"
import { isClosedPipe } from "./errors.js"

/**
 * Stdin bytes a command may have accepted but not yet handed to its child. Past it a Stdin frame waits
 * until the child has read enough (the spec's backpressure into the receiver), so a child that reads
 * slowly is paced and one that does not read never makes clawkerd buffer more than this.
 */
export const STDIN_PENDING_LIMIT = 4 * 1024 * 1024

/** initial_stdin or a Stdin frame could not be written, for a reason other than the child closing its end. */
export class StdinFailed extends Data.TaggedError("StdinFailed")<{ readonly message: string }> {}

/** What the feeder needs of stage 0's stdin; callbacks get the error, if any. */
export interface StdinWriter {
  readonly write: (chunk: Uint8Array, done: (error: unknown) => void) => void
  readonly end: (done: (error: unknown) => void) => void
}

export const streamWriter = (stream: Writable): StdinWriter => ({
  write: (chunk, done) => void stream.write(chunk, done),
  // Node calls end's callback with the error when the close fails; its typings only say `() => void`.
  end: (done) => void stream.end(done as () => void)
})

/**
 * Stage 0's stdin, fed in the order CP sent it: initial_stdin, then each Stdin frame, then the close.
 * Frames are queued at once up to STDIN_PENDING_LIMIT bytes, then `offer` waits for room (so does the
 * Session's receiver, and gRPC's flow control holds the CP's sender); they are written one at a time,
 * each waiting until the child's pipe took it. Once the command is over a waiting frame is dropped.
 */
export interface StdinFeeder {
  readonly offer: (data: Uint8Array) => Effect.Effect<void, CommandRejected>
  /** CloseStdin: idempotent; closes after everything queued before it was written. */
  readonly close: Effect.Effect<void>
  /** Writes until the close (or until interrupted, when the stages are gone). */
  readonly feed: (writer: StdinWriter, initial: Uint8Array) => Effect.Effect<void, StdinFailed>
  /** The command is over (also when it never started its feed): frames waiting for room are dropped. */
  readonly end: Effect.Effect<void>
}

const CLOSE = "close" as const

const callback = (start: (done: (error: unknown) => void) => void): Effect.Effect<void, unknown> =>
  Effect.callback<void, unknown>((resume) => {
    start((error) => resume(error === null || error === undefined ? Effect.void : Effect.fail(error)))
  })

/** The room a frame takes: a frame larger than the whole limit (the gRPC cap allows one) takes all of it. */
const roomFor = (data: Uint8Array) => Math.min(data.length, STDIN_PENDING_LIMIT)

export const makeStdinFeeder = (commandId: string): Effect.Effect<StdinFeeder> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Uint8Array | typeof CLOSE>()
    const room = yield* Semaphore.make(STDIN_PENDING_LIMIT)
    /** The feed is over (the stages are gone): frames waiting for room are dropped. */
    const over = yield* Deferred.make<void>()
    const finish = Effect.asVoid(Deferred.succeed(over, undefined))
    /** No more frames accepted: CloseStdin came, or a write failed. */
    let closed = false
    /** The child closed its end: whatever is still queued or arrives is dropped silently. */
    let broken = false

    const offer = (data: Uint8Array): Effect.Effect<void, CommandRejected> =>
      Effect.suspend(() => {
        if (closed) {
          return Effect.fail(
            new CommandRejected({ code: ErrorCode.ERROR_CODE_INVALID_REQUEST, message: "stdin: already closed" })
          )
        }
        if (broken || data.length === 0) return Effect.void
        return Effect.raceFirst(Effect.as(room.take(roomFor(data)), true), Effect.as(Deferred.await(over), false)).pipe(
          Effect.flatMap((taken) => (taken ? Queue.offer(queue, data) : Effect.void)),
          Effect.asVoid
        )
      })

    const close = Effect.suspend(() => {
      if (closed) return Effect.void
      closed = true
      return Queue.offer(queue, CLOSE)
    })

    const failed = (message: string, e: unknown): Effect.Effect<void, StdinFailed> =>
      Effect.suspend(() => {
        if (isClosedPipe(e)) {
          broken = true
          return Effect.void
        }
        closed = true
        return Effect.fail(new StdinFailed({ message: `${message}: ${errnoText(e)}` }))
      })

    const end = (writer: StdinWriter) =>
      callback(writer.end).pipe(
        Effect.catch((e) =>
          isClosedPipe(e)
            ? Effect.void
            : Log.warn("session_close_stdin_failed", { command_id: commandId, error: errnoText(e) })
        )
      )

    const feed = (writer: StdinWriter, initial: Uint8Array): Effect.Effect<void, StdinFailed> =>
      Effect.gen(function*() {
        if (initial.length > 0) {
          yield* callback((done) => writer.write(initial, done)).pipe(
            Effect.catch((e) => failed("initial_stdin write failed", e)),
            Effect.tapError((e) =>
              Log.error("session_initial_stdin_write_failed", { command_id: commandId, error: e.message })
            )
          )
        }
        while (true) {
          const item = yield* Queue.take(queue)
          if (item === CLOSE) return broken ? undefined : yield* end(writer)
          yield* (broken ? Effect.void : callback((done) => writer.write(item, done))).pipe(
            Effect.catch((e) => failed("stdin write", e)),
            Effect.ensuring(room.release(roomFor(item)))
          )
        }
      }).pipe(Effect.ensuring(finish))

    return { offer, close, feed, end: finish }
  })
