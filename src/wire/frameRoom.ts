/**
 * Enough for the gRPC prefix and the Response header of a full chunk whose command_id has up to 49 bytes;
 * a longer one is framed by copying.
 */
export const FRAME_ROOM = 64

/** A buffer of `size` bytes with FRAME_ROOM bytes before it that nothing else uses. */
export const allocWithRoom = (size: number): Buffer => Buffer.allocUnsafeSlow(FRAME_ROOM + size).subarray(FRAME_ROOM)

/**
 * Memory kept of chunks given back, at most: what a burst of many commands gives back beyond it is left
 * to the collector.
 */
export const SPARE_LIMIT = 16

/**
 * Room reserved in front of an output chunk, inside the chunk's own memory, for the header of the
 * Response that carries it: the listener's serializer then writes the header there and hands the chunk
 * on as the frame, instead of copying 32 KiB into a new buffer (src/wire/responseFrame.ts). The contract
 * between the reader that takes the chunks (the shell's output drain) and the transport that frames and
 * writes them (the listener): both must hold the same FrameRoom, since only chunks registered with it
 * have room; any other buffer's preceding bytes may belong to someone else (Node's buffer pool).
 */
export interface FrameRoomShape {
  /**
   * A buffer of `size` bytes with FRAME_ROOM bytes before it, not yet registered: the memory of a chunk
   * given back when there is one of this size, else a new one. A fresh 32 KiB per read is memory outside
   * the heap that V8 still counts, and at full speed it set off a full collection every few dozen MiB
   * (bench/throughput.ts).
   */
  readonly takeWithRoom: (size: number) => Buffer
  /** `chunk`, a view into a buffer from takeWithRoom or allocWithRoom starting where it did, now known to have its room. */
  readonly withRoom: (chunk: Buffer) => Buffer
  /**
   * Like withRoom, for a chunk its reader hands on and no longer uses: once its reply was written
   * (giveBack), its memory is read into again.
   */
  readonly returnableChunk: (chunk: Buffer) => Buffer
  /**
   * The transport is done with `data` (it copied the bytes into its frame, or dropped them): a returnable
   * chunk's memory becomes a spare. Anything else, or the same chunk a second time, is left alone.
   */
  readonly giveBack: (data: Uint8Array) => void
  /** The bytes in front of `data` the serializer may write. */
  readonly roomBefore: (data: Uint8Array) => number
}

/** A FrameRoom of its own: its registered chunks and its spares are nobody else's. */
export const makeFrameRoom = (): FrameRoomShape => {
  const roomy = new WeakMap<Uint8Array, "room" | "returnable">()
  const spares: Array<ArrayBuffer> = []
  return {
    takeWithRoom: (size) => {
      const spare = spares.pop()
      return spare !== undefined && spare.byteLength === FRAME_ROOM + size
        ? Buffer.from(spare, FRAME_ROOM, size)
        : allocWithRoom(size)
    },
    withRoom: (chunk) => {
      if (!roomy.has(chunk)) roomy.set(chunk, "room")
      return chunk
    },
    returnableChunk: (chunk) => {
      roomy.set(chunk, "returnable")
      return chunk
    },
    giveBack: (data) => {
      if (roomy.get(data) !== "returnable") return
      roomy.delete(data)
      if (spares.length < SPARE_LIMIT) spares.push(data.buffer as ArrayBuffer)
    },
    roomBefore: (data) => (roomy.has(data) ? FRAME_ROOM : 0)
  }
}
