import { getRawAsset } from "node:sea"
import type { NativeAddon } from "./native.js"
import { unpackNative } from "./unpackNative.js"

/*
 * src/platform/native.ts as the single binary has it: scripts/build-binary.mjs bundles this module in its
 * place. The addon and the shim are the binary's assets, unpacked when this module is evaluated
 * (src/programs/binary.ts does that before the daemon's first module).
 */

/** Set by scripts/build-binary.mjs: each embedded file's asset key and SHA-256. */
declare const CLAWKERD_EMBEDDED_NATIVE: {
  readonly addon: { readonly asset: string; readonly sha256: string }
  readonly shim: { readonly asset: string; readonly sha256: string }
}

const embedded = (file: { readonly asset: string; readonly sha256: string }) => ({
  bytes: new Uint8Array(getRawAsset(file.asset)),
  sha256: file.sha256
})

const unpacked = unpackNative(embedded(CLAWKERD_EMBEDDED_NATIVE.addon), embedded(CLAWKERD_EMBEDDED_NATIVE.shim))

export const addon = unpacked.addon as NativeAddon
export const execShimPath: string = unpacked.execShimPath
