import type { Command } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { Command as CommandCodec } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { errorMessage } from "../lib/errorText.js"

/** A frame that is not a Command: answered and logged instead of ending the Session. */
export interface MalformedFrame {
  readonly _tag: "MalformedFrame"
  readonly reason: string
  readonly bytes: number
}

export type InboundFrame = Command | MalformedFrame

export const isMalformed = (frame: InboundFrame): frame is MalformedFrame =>
  (frame as Partial<MalformedFrame>)._tag === "MalformedFrame"

/** The listener's request deserializer: grpc-js would end the RPC on a throw, losing the reason. */
export const decodeFrame = (bytes: Buffer): InboundFrame => {
  try {
    return CommandCodec.decode(bytes)
  } catch (e) {
    return { _tag: "MalformedFrame", reason: errorMessage(e), bytes: bytes.byteLength }
  }
}
