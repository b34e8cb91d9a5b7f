import type { NativeAddon } from "./native.js"
import type { UnpackedNative } from "./unpackNative.js"
import { NativeUnpackError, UNPACKED_NATIVE } from "./unpackNative.js"

/*
 * src/platform/native.ts as the single binary's daemon bundle has it (scripts/build-binary.mjs bundles this
 * module in its place): the addon and the shim's path, which the binary's loader unpacked before it ran the
 * bundle (src/programs/binary.ts).
 */
const unpacked = (globalThis as { [UNPACKED_NATIVE]?: UnpackedNative })[UNPACKED_NATIVE]
if (unpacked === undefined) {
  throw new NativeUnpackError({ message: "the native addon was not unpacked before the daemon's bundle ran" })
}

export const addon = unpacked.addon as NativeAddon
export const execShimPath: string = unpacked.execShimPath
