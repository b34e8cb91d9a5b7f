import { Data, Effect, Queue } from "effect"
import type { Writable } from "node:stream"
import * as Log from "../../domain/log.js"
import { ErrorCode } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { CommandRejected } from "../../services/ShellExecutor.js"
import { errorText, isClosedPipe } from "./errors.js"

/**
 * Stdin bytes a command may have accepted but not yet handed to its child. A child that does not
 * read its stdin would otherwise make clawkerd buffer whatever CP sends.
 */
export const STDIN_PENDING_LIMIT = 4 * 1024 * 1024

export const stdinOverflowMessage = `stdin: more than ${
  STDIN_PENDING_LIMIT / (1024 * 1024)
} MiB pending; the command is not reading its stdin`

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
 * Frames are queued at once (the Session never waits for a child) and written one at a time, each
 * waiting until the child's pipe took it, so a slow reader is never flooded.
 */
export interface StdinFeeder {
  readonly offer: (data: Uint8Array) => Effect.Effect<void, CommandRejected>
  /** CloseStdin: idempotent; closes after everything queued before it was written. */
  readonly close: Effect.Effect<void>
  /** Writes until the close (or until interrupted, when the stages are gone). */
  readonly feed: (writer: StdinWriter, initial: Uint8Array) => Effect.Effect<void, StdinFailed>
}

const CLOSE = "close" as const

const callback = (start: (done: (error: unknown) => void) => void): Effect.Effect<void, unknown> =>
  Effect.callback<void, unknown>((resume) => {
    start((error) => resume(error === null || error === undefined ? Effect.void : Effect.fail(error)))
  })

export const makeStdinFeeder = (
  commandId: string,
  onOverflow: (message: string) => Effect.Effect<void>
): Effect.Effect<StdinFeeder> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Uint8Array | typeof CLOSE>()
    let pending = 0
    /** No more frames accepted: CloseStdin came, a write failed, or the limit was passed. */
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
        if (pending + data.length > STDIN_PENDING_LIMIT) {
          closed = true
          broken = true
          return onOverflow(stdinOverflowMessage)
        }
        pending += data.length
        return Queue.offer(queue, data)
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
        return Effect.fail(new StdinFailed({ message: `${message}: ${errorText(e)}` }))
      })

    const end = (writer: StdinWriter) =>
      callback(writer.end).pipe(
        Effect.catch((e) =>
          isClosedPipe(e)
            ? Effect.void
            : Log.warn("session_close_stdin_failed", { command_id: commandId, error: errorText(e) })
        )
      )

    const feed = (writer: StdinWriter, initial: Uint8Array): Effect.Effect<void, StdinFailed> =>
      Effect.gen(function*() {
        if (initial.length > 0) {
          yield* callback((done) => writer.write(initial, done)).pipe(
            Effect.catch((e) => failed("initial_stdin write failed", e))
          )
        }
        while (true) {
          const item = yield* Queue.take(queue)
          if (item === CLOSE) return broken ? undefined : yield* end(writer)
          if (!broken) {
            yield* callback((done) => writer.write(item, done)).pipe(
              Effect.catch((e) => failed("stdin write", e)),
              Effect.ensuring(Effect.sync(() => (pending -= item.length)))
            )
          } else {
            pending -= item.length
          }
        }
      })

    return { offer, close, feed }
  })
