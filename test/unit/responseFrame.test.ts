import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { Response } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { Response as ResponseCodec } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { allocWithRoom, FRAME_ROOM, withRoom } from "../../src/wire/frameRoom.js"
import { encodeResponse } from "../../src/wire/responseFrame.js"
import * as R from "../../src/wire/responses.js"

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
        expect(encodeResponse(response).equals(generated(response)), `id ${id.length} chars, ${size} bytes`).toBe(true)
      }
    }
  })

  it("any command id and data decode back to the same OutputChunk", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), fc.uint8Array({ maxLength: 600 }), (id, data) => {
      const response = output(id, data)
      const frame = encodeResponse(response)
      expect(frame.equals(generated(response))).toBe(true)
      expect(ResponseCodec.decode(frame)).toEqual(response)
    }))
  })

  it("frames a chunk with room in place, without a copy, and the same bytes as the codec", () => {
    const data = withRoom(allocWithRoom(32 * 1024).fill(9))
    for (const id of ["", "init-0123456789ab-config-1", "x".repeat(FRAME_ROOM - 16)]) {
      const response: Response = { commandId: id, payload: { $case: "output", value: { data } } }
      const frame = encodeResponse(response)
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
      const frame = encodeResponse(response)
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
    ) expect(encodeResponse(response).equals(generated(response))).toBe(true)
  })
})
