import type { Response } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import type { FrameRoomShape } from "../../wire/frameRoom.js"
import { outputMessageInPlace } from "../../wire/responseFrame.js"

type Serialize = (value: Response) => Buffer

/** The innermost call of grpc-js's interceptor chain: the one that frames and writes each message. */
const framingCall = (call: unknown): { serializeMessage: Serialize } | undefined => {
  let current: unknown = typeof call === "object" && call !== null ? (call as { call?: unknown }).call : undefined
  while (typeof current === "object" && current !== null && "nextCall" in current) current = current.nextCall
  return typeof current === "object" && current !== null && "serializeMessage" in current &&
      typeof current.serializeMessage === "function"
    ? current as { serializeMessage: Serialize }
    : undefined
}

/**
 * grpc-js frames every reply by copying the serializer's bytes behind its 5-byte prefix into a buffer of
 * its own (BaseServerInterceptingCall.serializeMessage, grpc-js 1.14): for command output that was a
 * 32 KiB copy and allocation per chunk, and V8 counts each allocation toward its next full collection.
 * For this call, an OutputChunk whose chunk has room in `room` becomes its own gRPC message, written in
 * place (responseFrame.ts outputMessageInPlace), and HTTP/2 sends the read buffer itself; every other reply
 * is framed by grpc-js as before. The buffer is given back only from the write's callback, once HTTP/2
 * has written it (SessionHandlerLive). False when grpc-js is not shaped as expected: replies are then
 * all framed by grpc-js, as they were.
 */
export const frameOutputInPlace = (call: unknown, room: FrameRoomShape): boolean => {
  const target = framingCall(call)
  if (target === undefined) return false
  const framed = target.serializeMessage.bind(target)
  target.serializeMessage = (value) => {
    const inPlace = value.payload?.$case === "output"
      ? outputMessageInPlace(room, value.commandId, value.payload.value.data)
      : undefined
    return inPlace ?? framed(value)
  }
  return true
}
