import type { Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { Response as ResponseCodec } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import type { FrameRoomShape } from "./frameRoom.js"

/* Wire tags (field number << 3 | length-delimited) of the fields an OutputChunk reply carries. */
const COMMAND_ID = (1 << 3) | 2
const OUTPUT = (4 << 3) | 2
const DATA = (1 << 3) | 2

const varintSize = (value: number): number => {
  let size = 1
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) size++
  return size
}

const putVarint = (target: Buffer, at: number, value: number): number => {
  let offset = at
  let rest = value
  while (rest >= 0x80) {
    target[offset++] = (rest & 0x7f) | 0x80
    rest = Math.floor(rest / 0x80)
  }
  target[offset++] = rest
  return offset
}

/** OutputChunk{data}'s encoded length: empty data is left out. */
const chunkLength = (dataBytes: number): number => (dataBytes === 0 ? 0 : 1 + varintSize(dataBytes) + dataBytes)

/** Everything of the frame before the data bytes. */
const headerSize = (idBytes: number, dataBytes: number): number => {
  const chunk = chunkLength(dataBytes)
  return (idBytes === 0 ? 0 : 1 + varintSize(idBytes) + idBytes) + 1 + varintSize(chunk) + chunk - dataBytes
}

/** gRPC's prefix of every message on the stream: a compressed flag and a 4-byte length. */
const GRPC_PREFIX = 5

/**
 * The most data an OutputChunk of `commandId` can carry with its whole gRPC message (prefix and
 * Response) in `messageBytes`. Read at 32 KiB, a chunk's message was 32 KiB and some 20 bytes: three
 * HTTP/2 DATA frames of at most 16 KiB (the size both grpc-go and grpc-js receive), the third a few
 * bytes; fitted, it is exactly two.
 */
export const outputDataFitting = (commandId: string, messageBytes: number): number =>
  messageBytes - GRPC_PREFIX - headerSize(Buffer.byteLength(commandId), messageBytes)

/** Writes the header of Response{command_id, output: OutputChunk{data}} at the start of `frame`. */
const putHeader = (frame: Buffer, commandId: string, idBytes: number, dataBytes: number): void => {
  let at = 0
  if (idBytes !== 0) {
    frame[at++] = COMMAND_ID
    at = putVarint(frame, at, idBytes)
    at += frame.write(commandId, at, "utf8")
  }
  frame[at++] = OUTPUT
  at = putVarint(frame, at, chunkLength(dataBytes))
  if (dataBytes !== 0) {
    frame[at++] = DATA
    putVarint(frame, at, dataBytes)
  }
}

/**
 * The whole gRPC message of an OutputChunk reply (the 5-byte prefix, uncompressed, then the Response)
 * laid out in the room in front of the chunk, so the chunk's own memory is the message and its bytes
 * are never copied; undefined when the chunk has no room for it in `room` (frameRoom.ts) or is empty.
 */
export const outputMessageInPlace = (room: FrameRoomShape, commandId: string, data: Uint8Array): Buffer | undefined => {
  const idBytes = Buffer.byteLength(commandId)
  const header = headerSize(idBytes, data.length)
  if (data.length === 0 || room.roomBefore(data) < GRPC_PREFIX + header) return undefined
  const message = Buffer.from(data.buffer, data.byteOffset - header - GRPC_PREFIX, GRPC_PREFIX + header + data.length)
  message[0] = 0
  message.writeUInt32BE(header + data.length, 1)
  putHeader(message.subarray(GRPC_PREFIX), commandId, idBytes, data.length)
  return message
}

/**
 * Response{command_id, output: OutputChunk{data}} laid out by hand, byte for byte what the generated
 * codec writes (fields in number order, empty ones left out). A chunk with room in front in `room`
 * (frameRoom.ts) becomes the frame itself, its header written into that room; any other is copied once
 * into a new one.
 */
const encodeOutput = (room: FrameRoomShape, commandId: string, data: Uint8Array): Buffer => {
  const idBytes = Buffer.byteLength(commandId)
  const header = headerSize(idBytes, data.length)
  if (data.length !== 0 && room.roomBefore(data) >= header) {
    const frame = Buffer.from(data.buffer, data.byteOffset - header, header + data.length)
    putHeader(frame, commandId, idBytes, data.length)
    return frame
  }
  const frame = Buffer.allocUnsafe(header + data.length)
  putHeader(frame, commandId, idBytes, data.length)
  frame.set(data, header)
  return frame
}

/** A varint at `at`: its value and where it ends, or undefined when it does not end inside `bytes` or exceeds 2^31. */
const readVarint = (bytes: Uint8Array, at: number): { readonly value: number; readonly end: number } | undefined => {
  let value = 0
  for (let offset = at, scale = 1; offset < bytes.length && offset < at + 5; offset++, scale *= 0x80) {
    const byte = bytes[offset]!
    value += (byte & 0x7f) * scale
    if (byte < 0x80) return value <= 0x7fffffff ? { value, end: offset + 1 } : undefined
  }
  return undefined
}

const utf8 = new TextDecoder()

/**
 * An OutputChunk reply laid out as encodeOutput (and every encoder writing fields in number order) lays
 * it out, its data a view into `bytes`; undefined for any other frame.
 */
const decodeOutput = (bytes: Uint8Array): Response | undefined => {
  let at = 0
  let commandId = ""
  if (bytes[at] === COMMAND_ID) {
    const id = readVarint(bytes, at + 1)
    if (id === undefined || id.end + id.value > bytes.length) return undefined
    commandId = utf8.decode(bytes.subarray(id.end, id.end + id.value))
    at = id.end + id.value
  }
  if (bytes[at] !== OUTPUT) return undefined
  const chunk = readVarint(bytes, at + 1)
  if (chunk === undefined || chunk.end + chunk.value !== bytes.length) return undefined
  if (chunk.value === 0) return { commandId, payload: { $case: "output", value: { data: Buffer.alloc(0) } } }
  if (bytes[chunk.end] !== DATA) return undefined
  const data = readVarint(bytes, chunk.end + 1)
  if (data === undefined || data.end + data.value !== bytes.length) return undefined
  return {
    commandId,
    payload: { $case: "output", value: { data: Buffer.from(bytes.buffer, bytes.byteOffset + data.end, data.value) } }
  }
}

/**
 * The CP client's response deserializer (src/programs/cp/cpClient.ts), the serializer's mirror: the generated
 * codec copies every OutputChunk's data byte by byte (Buffer.from of a Uint8Array), which made the
 * benchmark's client, not clawkerd, the slower end (bench/throughput.ts). An OutputChunk in its usual
 * layout is read in place; anything else goes to the generated codec.
 */
export const decodeResponse = (bytes: Uint8Array): Response => decodeOutput(bytes) ?? ResponseCodec.decode(bytes)

/**
 * The listener's response serializer. OutputChunks carry nearly all of a busy Session's bytes, and the
 * generated serializer copies each one three times (the writer's join, finish, then Buffer.from), which
 * bounded command output (bench/throughput.ts); they are laid out directly, in place when they can be.
 * Every other reply goes through the generated codec, its bytes viewed as a Buffer instead of copied.
 * `room` says which chunks have room in front: the one their reader took them from.
 */
export const encodeResponse = (room: FrameRoomShape, response: Response): Buffer => {
  if (response.payload?.$case === "output") return encodeOutput(room, response.commandId, response.payload.value.data)
  const bytes = ResponseCodec.encode(response).finish()
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
