import { Context } from "effect"
import type { FrameRoomShape } from "../wire/frameRoom.js"

export type { FrameRoomShape } from "../wire/frameRoom.js"

/**
 * The output chunks with room in front for their Response's header, and the memory given back for the
 * next reads (src/wire/frameRoom.ts): the shell's output reader takes and registers them, the listener
 * frames them in place and gives them back once written. Both require it, so a composition provides one
 * to both, or does not compile; two of them would only cost the in-place framing, never a wrong frame.
 */
export class FrameRoom extends Context.Service<FrameRoom, FrameRoomShape>()("clawkerd/FrameRoom") {}
