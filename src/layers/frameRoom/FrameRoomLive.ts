import { Layer } from "effect"
import { FrameRoom } from "../../services/FrameRoom.js"
import { makeFrameRoom } from "../../wire/frameRoom.js"

/** One FrameRoom for the whole daemon: provided once, below both the shell and the listener. */
export const FrameRoomLive: Layer.Layer<FrameRoom> = Layer.sync(FrameRoom, makeFrameRoom)
