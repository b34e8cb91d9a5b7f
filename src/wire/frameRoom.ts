/**
 * Room reserved in front of an output chunk, inside the chunk's own memory, for the header of the
 * Response that carries it: the listener's serializer then writes the header there and hands the chunk
 * on as the frame, instead of copying 32 KiB into a new buffer (src/wire/responseFrame.ts). Only
 * chunks registered here have room; any other buffer's preceding bytes may belong to someone else
 * (Node's buffer pool). "returnable": its memory may also be given back (giveBack).
 */
const roomy = new WeakMap<Uint8Array, "room" | "returnable">()

/**
 * Enough for the gRPC prefix and the Response header of a full chunk whose command_id has up to 49 bytes;
 * a longer one is framed by copying.
 */
export const FRAME_ROOM = 64

/** A buffer of `size` bytes with FRAME_ROOM bytes before it that nothing else uses. */
export const allocWithRoom = (size: number): Buffer => Buffer.allocUnsafeSlow(FRAME_ROOM + size).subarray(FRAME_ROOM)

/**
 * Memory of chunks given back once the transport copied them into its own frame, handed out again for
 * the next reads. A fresh 32 KiB per read is memory outside the heap that V8 still counts, and at full
 * speed it set off a full collection every few dozen MiB (bench/throughput.ts). Bounded: what a burst
 * of many commands gives back beyond SPARE_LIMIT is left to the collector.
 */
const spares: Array<ArrayBuffer> = []
export const SPARE_LIMIT = 16

/** Like allocWithRoom, reusing the memory of a chunk given back when there is one of this size. */
export const takeWithRoom = (size: number): Buffer => {
  const spare = spares.pop()
  return spare !== undefined && spare.byteLength === FRAME_ROOM + size
    ? Buffer.from(spare, FRAME_ROOM, size)
    : allocWithRoom(size)
}

/**
 * `chunk`, a view into a buffer from takeWithRoom starting where it did (so with its room), which its
 * reader hands on and no longer uses: once its reply was written (giveBack), its memory is read into again.
 */
export const returnableChunk = (chunk: Buffer): Buffer => {
  roomy.set(chunk, "returnable")
  return chunk
}

/**
 * The transport is done with `data` (it copied the bytes into its frame, or dropped them): a returnable
 * chunk's memory becomes a spare. Anything else, or the same chunk a second time, is left alone.
 */
export const giveBack = (data: Uint8Array): void => {
  if (roomy.get(data) !== "returnable") return
  roomy.delete(data)
  if (spares.length < SPARE_LIMIT) spares.push(data.buffer as ArrayBuffer)
}

/** `chunk`, a view into a buffer from allocWithRoom starting where it did, now known to have its room. */
export const withRoom = (chunk: Buffer): Buffer => {
  if (!roomy.has(chunk)) roomy.set(chunk, "room")
  return chunk
}

/** The bytes in front of `data` the serializer may write. */
export const roomBefore = (data: Uint8Array): number => (roomy.has(data) ? FRAME_ROOM : 0)
