import fc from "fast-check"
import type { Response } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { Command, ErrorCode } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../../../src/programs/cp/commands.js"

/** Whether the daemon's decoder (the generated Command codec) refuses these bytes. */
export const isMalformed = (bytes: Uint8Array): boolean => {
  try {
    Command.decode(bytes)
    return false
  } catch {
    return true
  }
}

/** The spec's answer to a frame that is not a Command: INVALID_REQUEST, empty id. */
export const isMalformedAnswer = (r: Response): boolean =>
  r.commandId === "" && r.payload?.$case === "error" &&
  r.payload.value.code === ErrorCode.ERROR_CODE_INVALID_REQUEST &&
  r.payload.value.message.startsWith("malformed command frame: ")

const tag = (field: number, wireType: number) => {
  const out: Array<number> = []
  for (let v = field * 8 + wireType;; v = Math.floor(v / 128)) {
    if (v < 128) return [...out, v]
    out.push((v % 128) | 128)
  }
}
const idField = (id: string) => [0x0a, id.length, ...Buffer.from(id)]

/**
 * Commands whose payload is not one of the oneof cases the daemon knows: field numbers past the
 * last case (including the largest protobuf allows), and a known case with the wrong wire type.
 * Each decodes (unknown fields are skipped), so each must be answered "unknown payload type".
 */
export const unknownPayloads = (prefix: string): ReadonlyArray<{ readonly id: string; readonly bytes: Uint8Array }> =>
  [
    [...tag(10, 2), 0],
    [...tag(15, 2), 3, 1, 2, 3],
    [...tag(2047, 0), 1],
    [...tag(536_870_911, 2), 0],
    [...tag(2, 0), 1],
    [...tag(3, 5), 0, 0, 0, 0]
  ].map((payload, i) => ({ id: `${prefix}-${i}`, bytes: Uint8Array.from([...idField(`${prefix}-${i}`), ...payload]) }))

/**
 * Valid encodings to mutate. Nothing here can do harm when a mutation still decodes: the only
 * program is `true`, ids are not ones the tests use, and AgentReady has no Supervisor behind it.
 */
const SEEDS: ReadonlyArray<Uint8Array> = [
  C.hello("fz-hello"),
  C.shell("fz-shell", [C.stage(["true"])], { timeoutSeconds: 5 }),
  C.stdin("fz-stdin", "data"),
  C.closeStdin("fz-close"),
  C.signal("fz-signal", 15),
  C.agentInitialized("fz-init"),
  C.registerRequired("fz-reg")
].map((c) => Command.encode(c).finish())

type Mutation =
  | { readonly kind: "flip"; readonly at: number; readonly bit: number }
  | { readonly kind: "truncate"; readonly at: number }
  | { readonly kind: "insert"; readonly at: number; readonly bytes: Uint8Array }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 })
  })
)

const mutate = (seed: Uint8Array, changes: ReadonlyArray<Mutation>) => {
  let bytes = Buffer.from(seed)
  for (const change of changes) {
    const at = bytes.length === 0 ? 0 : change.at % bytes.length
    if (change.kind === "flip") bytes[at] = (bytes[at] ?? 0) ^ (1 << change.bit)
    else if (change.kind === "truncate") bytes = bytes.subarray(0, at)
    else bytes = Buffer.concat([bytes.subarray(0, at), change.bytes, bytes.subarray(at)])
  }
  return Uint8Array.from(bytes)
}

/** Frames for the decoder fuzz: pure noise, and valid Commands with bits flipped, cut short or padded. */
export const fuzzFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 512 }),
  fc.tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([seed, changes]) =>
    mutate(seed, changes)
  )
)
