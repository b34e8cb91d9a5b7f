import type { Scope } from "effect"
import { Data, Effect, Queue } from "effect"
import * as net from "node:net"
import type { FrameRoomShape } from "../../wire/frameRoom.js"
import { outputDataFitting } from "../../wire/responseFrame.js"
import { isClosedPipe } from "./errors.js"

/** The largest read of the merged output, and so the largest OutputChunk (spec: 32 KiB). */
export const OUTPUT_READ_SIZE = 32 * 1024

/**
 * The read size of a command's output: full reads whose whole gRPC message fills two HTTP/2 frames
 * (responseFrame.ts outputDataFitting); a command id too long for half of that reads OUTPUT_READ_SIZE.
 */
export const readSizeFor = (commandId: string): number => {
  const fitted = outputDataFitting(commandId, OUTPUT_READ_SIZE)
  return fitted >= OUTPUT_READ_SIZE / 2 ? fitted : OUTPUT_READ_SIZE
}

/**
 * Reads taken ahead of the chunk being handed on: the pipe is read while the Session sends, instead of
 * one read per round trip through the sender (bench/throughput.ts). Bounds what a slow Session holds.
 */
export const READ_AHEAD = 4

export class DrainFailed extends Data.TaggedError("DrainFailed")<{ readonly cause: unknown }> {}

type ReadEvent =
  | { readonly _tag: "Chunk"; readonly data: Buffer }
  | { readonly _tag: "Closed"; readonly error: unknown }

export interface OutputReader {
  /** Hands every read to `onChunk`, in order, until EOF (or `close`). */
  readonly drain: (onChunk: (data: Buffer) => Effect.Effect<void>) => Effect.Effect<void, DrainFailed>
  /** Stops reading before EOF: the read end is closed, and `drain` ends once what was read is handed on. */
  readonly close: Effect.Effect<void>
}

/**
 * The read end of the merged output pipe as a `net.Socket`: libuv's non-blocking pipe I/O on the event
 * loop (a thread-pool `fs.read` would park a worker thread on every silent command). Reads land in a
 * 32 KiB buffer (`onread`), so one read is one chunk; with READ_AHEAD chunks not yet handled, returning
 * false pauses reading until one was, which backs a slow Session up into the children's writes instead
 * of into memory.
 *
 * The socket owns `fd` from the moment it exists (`onOwned` then runs, in the same step) and closes it
 * when the scope closes, never while a read is in flight.
 *
 * Full reads are taken from `room` and registered there, the room the writer frames and gives back with.
 * Options: `handsOn`, each chunk goes to one writer only, which gives its memory back (frameRoom.ts
 * giveBack) once written; false when something else may still hold it after that (the print_output
 * echo). `readSize`, the largest read (at most OUTPUT_READ_SIZE), sized by the caller to its frames.
 */
export const openOutput = (
  room: FrameRoomShape,
  fd: number,
  onOwned: () => void,
  options: { readonly handsOn: boolean; readonly readSize: number } = { handsOn: true, readSize: OUTPUT_READ_SIZE }
): Effect.Effect<OutputReader, DrainFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const { handsOn } = options
    const readSize = Math.min(options.readSize, OUTPUT_READ_SIZE)
    const events = yield* Queue.unbounded<ReadEvent>()
    let readError: unknown = undefined
    let unhandled = 0
    const nextReadBuffer = () => room.takeWithRoom(OUTPUT_READ_SIZE).subarray(0, readSize)
    let readInto = nextReadBuffer()
    /**
     * The chunk just read, as a buffer of its own: a mostly full read keeps the read buffer itself, with
     * the room in front of it for its Response's header (the next read gets another, a spare when one was
     * given back); a short one is copied out of it (allocUnsafe + copy: Buffer.from(view) costs three
     * times as much), so a chatty command's small chunks never each hold 32 KiB while queued.
     */
    const keep = (buf: Buffer, bytes: number): Buffer => {
      if (bytes >= readSize / 2) {
        readInto = nextReadBuffer()
        const chunk = buf.subarray(0, bytes)
        return handsOn ? room.returnableChunk(chunk) : room.withRoom(chunk)
      }
      const data = Buffer.allocUnsafe(bytes)
      buf.copy(data, 0, 0, bytes)
      return data
    }

    const socket = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          // `onread` is a documented constructor option (@types/node 24 lists it there).
          const options: net.SocketConstructorOpts = {
            fd,
            readable: true,
            writable: false,
            onread: {
              // Node asks for the buffer of the next read after each callback below has run.
              buffer: () => readInto,
              callback: (bytes: number, buf: Buffer) => {
                Queue.offerUnsafe(events, { _tag: "Chunk", data: keep(buf, bytes) })
                return ++unhandled < READ_AHEAD
              }
            }
          }
          const socket = new net.Socket(options)
          onOwned()
          socket.on("error", (e) => {
            readError = e
          })
          socket.on("close", () => Queue.offerUnsafe(events, { _tag: "Closed", error: readError }))
          // Flowing mode, so EOF turns into 'end' and then 'close' even when nothing was ever read.
          socket.resume()
          return socket
        },
        catch: (cause) => new DrainFailed({ cause })
      }),
      // Reads land in readInto only inside libuv's synchronous read step, never after destroy: it becomes a spare.
      (socket) =>
        Effect.sync(() => {
          socket.destroy()
          room.giveBack(room.returnableChunk(readInto))
        })
    )

    const drain = (onChunk: (data: Buffer) => Effect.Effect<void>): Effect.Effect<void, DrainFailed> =>
      Effect.gen(function*() {
        while (true) {
          const event = yield* Queue.take(events)
          if (event._tag === "Closed") {
            if (event.error === undefined || isClosedPipe(event.error)) return
            return yield* new DrainFailed({ cause: event.error })
          }
          yield* onChunk(event.data)
          if (unhandled-- === READ_AHEAD) socket.resume()
        }
      })
    return { drain, close: Effect.sync(() => void socket.destroy()) }
  })
