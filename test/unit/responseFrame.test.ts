import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Response } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { Response as ResponseCodec } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { allocWithRoom, FRAME_ROOM, makeFrameRoom, SPARE_LIMIT } from "../../src/wire/frameRoom.js"
import {
  decodeResponse,
  encodeResponse,
  outputDataFitting,
  outputMessageInPlace
} from "../../src/wire/responseFrame.js"
import * as R from "../../src/wire/responses.js"

/** The serializer's room, in which the tests' chunks with room are registered. */
const room = makeFrameRoom()
const encode = (response: Response) => encodeResponse(room, response)
const withRoom = room.withRoom
const generated = (response: Response) => Buffer.from(ResponseCodec.encode(response).finish())
const output = (commandId: string, data: Uint8Array): Response => ({
  commandId,
  payload: { $case: "output", value: { data: Buffer.from(data) } }
})

describe("response serializer", () => {
  it("lays out an OutputChunk byte for byte as the generated codec does, at every varint boundary", () => {
    for (const id of ["", "x", "init-0123456789ab-config-1", "é".repeat(64), "i".repeat(200)]) {
      for (const size of [0, 1, 127, 128, 16_383, 16_384, 32 * 1024, 2_097_152]) {
        const response = output(id, Buffer.alloc(size, 7))
        expect(encode(response).equals(generated(response)), `id ${id.length} chars, ${size} bytes`).toBe(true)
      }
    }
  })

  it("any command id and data decode back to the same OutputChunk", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), fc.uint8Array({ maxLength: 600 }), (id, data) => {
      const response = output(id, data)
      const frame = encode(response)
      expect(frame.equals(generated(response))).toBe(true)
      expect(ResponseCodec.decode(frame)).toEqual(response)
    }))
  })

  it("frames a chunk with room in place, without a copy, and the same bytes as the codec", () => {
    const data = withRoom(allocWithRoom(32 * 1024).fill(9))
    for (const id of ["", "init-0123456789ab-config-1", "x".repeat(FRAME_ROOM - 16)]) {
      const response: Response = { commandId: id, payload: { $case: "output", value: { data } } }
      const frame = encode(response)
      expect(frame.buffer, `id of ${id.length}`).toBe(data.buffer)
      expect(frame.equals(generated(response))).toBe(true)
      expect(data.every((b) => b === 9)).toBe(true)
    }
  })

  it("copies a chunk whose header needs more room than it has, or that has none", () => {
    const roomy = withRoom(allocWithRoom(1024).fill(5))
    const bare = Buffer.alloc(1024, 5)
    for (const [id, data] of [["y".repeat(FRAME_ROOM), roomy], ["z", bare]] as const) {
      const response: Response = { commandId: id, payload: { $case: "output", value: { data } } }
      const frame = encode(response)
      expect(frame.buffer).not.toBe(data.buffer)
      expect(frame.equals(generated(response))).toBe(true)
    }
  })

  it("encodes every other reply with the generated codec", () => {
    for (
      const response of [
        R.helloAck("h", true, false),
        R.done("d", 3),
        R.error("e", 5, "boom"),
        R.registerDone("r", false, "no"),
        { commandId: "s", payload: { $case: "started", value: {} } } satisfies Response,
        { commandId: "", payload: undefined } satisfies Response
      ]
    ) expect(encode(response).equals(generated(response))).toBe(true)
  })
})

/** Any Response the generated codec can carry, OutputChunks weighted up. */
const anyResponse: fc.Arbitrary<Response> = fc.record({
  commandId: fc.string({ unit: "grapheme" }),
  payload: fc.oneof(
    {
      arbitrary: fc.uint8Array({ maxLength: 300 }).map((d) => ({
        $case: "output" as const,
        value: { data: Buffer.from(d) }
      })),
      weight: 4
    },
    fc.record({ $case: fc.constant("done" as const), value: fc.record({ finalExitCode: fc.integer() }) }),
    fc.record({ $case: fc.constant("started" as const), value: fc.constant({}) }),
    fc.record({
      $case: fc.constant("stageExit" as const),
      value: fc.record({ stageIndex: fc.nat(), exitCode: fc.integer(), signo: fc.nat(64) })
    }),
    fc.constant(undefined)
  )
})

/** What grpc-js sends for a reply: the 5-byte prefix (uncompressed, length) and the generated codec's bytes. */
const grpcMessage = (response: Response) => {
  const body = generated(response)
  const prefix = Buffer.alloc(5)
  prefix.writeUInt32BE(body.length, 1)
  return Buffer.concat([prefix, body])
}

describe("an OutputChunk's gRPC message laid out in place", () => {
  it("is byte for byte grpc-js's prefix and the generated codec's Response, in the chunk's own memory", () => {
    fc.assert(
      fc.property(
        // Ids whose header fits the room (up to 49 bytes; a grapheme may take many): longer ones are framed
        // by grpc-js, below.
        fc.string({ unit: "grapheme", maxLength: 20 }).filter((id) => Buffer.byteLength(id) <= 49),
        fc.integer({ min: 1, max: 40_000 }),
        fc.integer({ min: 0, max: 255 }),
        (id, size, fill) => {
          const data = withRoom(allocWithRoom(size).fill(fill))
          const expected = grpcMessage(output(id, data))
          const message = outputMessageInPlace(room, id, data)
          expect(message?.equals(expected)).toBe(true)
          expect(message?.buffer).toBe(data.buffer)
          expect(data.every((b) => b === fill)).toBe(true)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("is left to grpc-js for a chunk without room, an empty one, or an id too long for the room", () => {
    expect(outputMessageInPlace(room, "c", Buffer.alloc(100, 1))).toBeUndefined()
    expect(outputMessageInPlace(room, "c", withRoom(allocWithRoom(0)))).toBeUndefined()
    expect(outputMessageInPlace(room, "x".repeat(FRAME_ROOM), withRoom(allocWithRoom(100)))).toBeUndefined()
    expect(outputMessageInPlace(room, "x".repeat(50), withRoom(allocWithRoom(32 * 1024)))).toBeUndefined()
    expect(outputMessageInPlace(room, "x".repeat(49), withRoom(allocWithRoom(32 * 1024)))?.length).toBeGreaterThan(
      32 * 1024
    )
  })
})

describe("output data fitted to the message", () => {
  it("a chunk of the fitted size makes a gRPC message (5-byte prefix + Response) of exactly two 16 KiB frames", () => {
    for (const id of ["", "x", "head-0", "init-0123456789ab-config-1", "é".repeat(20), "y".repeat(200)]) {
      const fitted = outputDataFitting(id, 32 * 1024)
      expect(5 + encode(output(id, Buffer.alloc(fitted))).length, id).toBe(32 * 1024)
    }
  })

  it("never more than fits, for any id and message size", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 100 }),
        fc.integer({ min: 256, max: 1 << 22 }),
        (id, size) => {
          const fitted = outputDataFitting(id, size)
          expect(5 + encode(output(id, Buffer.alloc(fitted))).length).toBeLessThanOrEqual(size)
          expect(5 + encode(output(id, Buffer.alloc(fitted + 2))).length).toBeGreaterThan(size)
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("response deserializer (the CP client's)", () => {
  it("decodes every Response as the generated codec does", () => {
    fc.assert(
      fc.property(anyResponse, (response) => {
        const frame = Buffer.from(ResponseCodec.encode(response).finish())
        expect(decodeResponse(frame)).toEqual(ResponseCodec.decode(frame))
      }),
      { numRuns: 2_000 }
    )
  })

  it("agrees with the generated codec on arbitrary bytes, and on OutputChunks with fields out of the usual layout", () => {
    const agree = (bytes: Uint8Array) => {
      const ours = (() => {
        try {
          return { value: decodeResponse(bytes) }
        } catch (e) {
          return { error: String(e) }
        }
      })()
      const theirs = (() => {
        try {
          return { value: ResponseCodec.decode(bytes) }
        } catch (e) {
          return { error: String(e) }
        }
      })()
      expect(ours).toEqual(theirs)
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), agree), { numRuns: 5_000 })
    // A prefix of the usual layout: every truncation of a real frame.
    const frame = encode(output("cmd-1", Buffer.alloc(200, 3)))
    for (let end = 0; end <= frame.length; end++) agree(frame.subarray(0, end))
    // id after output, an unknown field after the data, a repeated data field, invalid UTF-8 in the id.
    agree(Buffer.concat([Buffer.from([0x22, 0x03, 0x0a, 0x01, 0x41]), Buffer.from([0x0a, 0x01, 0x78])]))
    agree(Buffer.from([0x0a, 0x01, 0x78, 0x22, 0x05, 0x0a, 0x01, 0x41, 0x10, 0x01]))
    agree(Buffer.from([0x0a, 0x01, 0x78, 0x22, 0x06, 0x0a, 0x01, 0x41, 0x0a, 0x01, 0x42]))
    agree(Buffer.from([0x0a, 0x02, 0xc3, 0x28, 0x22, 0x03, 0x0a, 0x01, 0x41]))
  })

  it("hands an OutputChunk's data on as a view into the frame, not a copy", () => {
    const frame = encode(output("c", Buffer.alloc(32 * 1024, 4)))
    const decoded = decodeResponse(frame)
    expect(decoded.payload?.$case).toBe("output")
    const data = decoded.payload?.$case === "output" ? decoded.payload.value.data : Buffer.alloc(0)
    expect(data.buffer).toBe(frame.buffer)
    expect(data.length).toBe(32 * 1024)
  })
})

describe("read buffers given back", () => {
  const SIZE = 32 * 1024

  it("the memory of a chunk given back is read into again, with its room in front", () => {
    const reads = makeFrameRoom()
    const read = reads.takeWithRoom(SIZE)
    const chunk = reads.returnableChunk(reads.withRoom(read.subarray(0, SIZE - 1)))
    reads.giveBack(chunk)
    const next = reads.takeWithRoom(SIZE)
    expect(next.buffer).toBe(read.buffer)
    expect(next.byteOffset).toBe(FRAME_ROOM)
    expect(next.length).toBe(SIZE)
    // Its old chunk no longer counts as framed in place: the memory is someone else's now.
    const frame = encodeResponse(reads, { commandId: "c", payload: { $case: "output", value: { data: chunk } } })
    expect(frame.buffer).not.toBe(read.buffer)
  })

  it("never reuses a chunk that was not marked returnable, nor one given back twice", () => {
    const reads = makeFrameRoom()
    const kept = reads.withRoom(reads.takeWithRoom(SIZE))
    reads.giveBack(kept)
    expect(reads.takeWithRoom(SIZE).buffer).not.toBe(kept.buffer)

    const once = reads.returnableChunk(reads.takeWithRoom(SIZE))
    reads.giveBack(once)
    reads.giveBack(once)
    expect(reads.takeWithRoom(SIZE).buffer).toBe(once.buffer)
    expect(reads.takeWithRoom(SIZE).buffer).not.toBe(once.buffer)
  })

  it("keeps at most SPARE_LIMIT spares", () => {
    const reads = makeFrameRoom()
    const chunks = Array.from({ length: SPARE_LIMIT + 4 }, () => reads.returnableChunk(reads.takeWithRoom(SIZE)))
    for (const chunk of chunks) reads.giveBack(chunk)
    const reused = new Set(chunks.map((c) => c.buffer))
    const taken = Array.from({ length: SPARE_LIMIT + 4 }, () => reads.takeWithRoom(SIZE))
    expect(taken.filter((t) => reused.has(t.buffer))).toHaveLength(SPARE_LIMIT)
  })

  it("two FrameRooms share neither their chunks with room nor their spares", () => {
    const [one, other] = [makeFrameRoom(), makeFrameRoom()]
    const chunk = one.returnableChunk(one.takeWithRoom(SIZE))
    const response: Response = { commandId: "c", payload: { $case: "output", value: { data: chunk } } }
    // Framed by the other room, the chunk has no room: its bytes are copied, its memory left alone.
    expect(other.roomBefore(chunk)).toBe(0)
    expect(outputMessageInPlace(other, "c", chunk)).toBeUndefined()
    expect(encodeResponse(other, response).buffer).not.toBe(chunk.buffer)
    // Given back to the other room, it is no spare there, and still returnable to its own.
    other.giveBack(chunk)
    expect(other.takeWithRoom(SIZE).buffer).not.toBe(chunk.buffer)
    expect(one.roomBefore(chunk)).toBe(FRAME_ROOM)
    one.giveBack(chunk)
    expect(other.takeWithRoom(SIZE).buffer).not.toBe(chunk.buffer)
    expect(one.takeWithRoom(SIZE).buffer).toBe(chunk.buffer)
  })
})
