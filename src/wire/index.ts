/* `clawkerd/wire`: what a SessionHandler of a sibling's own reads and writes: Commands in, Responses out. */

export { ErrorCode } from "../gen/clawker/clawkerd/v1/clawkerd.js"
export type { Command, Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"
export type { InboundFrame, MalformedFrame } from "./commandFrame.js"
export { isMalformed } from "./commandFrame.js"
export * as Responses from "./responses.js"
