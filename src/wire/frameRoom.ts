/**
 * Room reserved in front of an output chunk, inside the chunk's own memory, for the header of the
 * Response that carries it: the listener's serializer then writes the header there and hands the chunk
 * on as the frame, instead of copying 32 KiB into a new buffer (src/wire/responseFrame.ts). Only
 * chunks registered here have room; any other buffer's preceding bytes may belong to someone else
 * (Node's buffer pool).
 */
const roomy = new WeakSet<Uint8Array>()

/** Enough for the header of any command_id up to 48 bytes; a longer one is framed by copying. */
export const FRAME_ROOM = 64

/** A buffer of `size` bytes with FRAME_ROOM bytes before it that nothing else uses. */
export const allocWithRoom = (size: number): Buffer => Buffer.allocUnsafeSlow(FRAME_ROOM + size).subarray(FRAME_ROOM)

/** `chunk`, a view into a buffer from allocWithRoom starting where it did, now known to have its room. */
export const withRoom = (chunk: Buffer): Buffer => {
  roomy.add(chunk)
  return chunk
}

/** The bytes in front of `data` the serializer may write. */
export const roomBefore = (data: Uint8Array): number => (roomy.has(data) ? FRAME_ROOM : 0)
