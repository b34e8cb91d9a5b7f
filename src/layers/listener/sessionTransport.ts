import type { ServerDuplexStream } from "@grpc/grpc-js"
import { Deferred, Effect, Exit } from "effect"
import type { Response } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { errorMessage } from "../../lib/errorText.js"
import { SessionBroken } from "../../services/SessionHandler.js"
import type { SessionTransport } from "../../services/SessionHandler.js"
import type { InboundFrame } from "../../wire/commandFrame.js"
import type { FrameRoomShape } from "../../wire/frameRoom.js"
import { forEachAsync } from "./receive.js"

type Call = ServerDuplexStream<InboundFrame, Response>

/** The W3C trace context headers a Session's gRPC metadata may carry. */
const TRACE_HEADERS = ["traceparent", "tracestate"]

const traceContextOf = (call: Call): Record<string, string> =>
  Object.fromEntries(TRACE_HEADERS.flatMap((name) => {
    const [value] = call.metadata.get(name)
    return typeof value === "string" ? [[name, value]] : []
  }))

/**
 * A grpc-js Session call as the transport-neutral Session its handler serves; written OutputChunks are
 * given back to `room`.
 */
export const transportOf = (call: Call, room: FrameRoomShape): Effect.Effect<SessionTransport> =>
  Effect.map(Deferred.make<void>(), (peerCancelled) => {
    call.on("cancelled", () => Deferred.doneUnsafe(peerCancelled, Exit.void))
    // grpc-js may emit 'error' on a broken stream; the receiver sees it, this keeps it from throwing.
    call.on("error", () => undefined)
    return {
      receive: (each) =>
        // destroyOnReturn false: the default iterator destroys the duplex at EOF, before our replies and status.
        forEachAsync(call.iterator({ destroyOnReturn: false }) as AsyncIterable<InboundFrame>, each).pipe(
          Effect.mapError((e) => new SessionBroken({ message: errorMessage(e) }))
        ),
      // grpc-js calls back once a reply was written, by then its bytes copied or handed to HTTP/2, so an
      // OutputChunk's read buffer is given back for the next read. A call cancelled first never calls
      // back; that chunk is left to the collector.
      write: (response, written) =>
        call.write(response, (error?: Error | null) => {
          if (response.payload?.$case === "output") room.giveBack(response.payload.value.data)
          written(error)
        }),
      drained: Effect.callback<void>((resume) => {
        const onDrain = () => resume(Effect.void)
        call.once("drain", onDrain)
        return Effect.sync(() => void call.off("drain", onDrain))
      }),
      cancelled: Deferred.await(peerCancelled),
      isCancelled: Deferred.isDone(peerCancelled),
      end: Effect.sync(() => void call.end()),
      traceContext: traceContextOf(call)
    }
  })
