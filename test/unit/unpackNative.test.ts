import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { NativeAddon } from "../../src/platform/native.js"
import { NativeUnpackError, unpackNative, unsafeParent } from "../../src/platform/unpackNative.js"
import { repoRoot } from "../support/daemon.js"
import { tempDir } from "../support/fixtures.js"
import { isRoot } from "../support/pidns.js"

const release = path.join(repoRoot, "native/build/Release")
const embedded = (file: string) => {
  const bytes = fs.readFileSync(path.join(release, file))
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") }
}
const addon = embedded("clawkerd_native.node")
const shim = embedded("clawkerd-exec")

/** A parent as root's private directory needs it: root's, 0755. */
const rootParent = async () => {
  const dir = await tempDir("clawkerd-unpack-")
  fs.chmodSync(dir, 0o755)
  return dir
}

describe("where the binary may unpack its native files", () => {
  it("a root-owned directory, or a world-writable one only with the sticky bit", async () => {
    const dir = await rootParent()
    expect(unsafeParent(dir)).toBeUndefined()
    fs.chmodSync(dir, 0o1777)
    expect(unsafeParent(dir)).toBeUndefined()
    fs.chmodSync(dir, 0o777)
    expect(unsafeParent(dir)).toMatch(/writable by others without the sticky bit/)
    fs.chmodSync(dir, 0o775)
    expect(unsafeParent(dir)).toMatch(/writable by others/)
    const link = `${dir}-link`
    fs.symlinkSync("/tmp", link)
    expect(unsafeParent(link)).toMatch(/not a directory/)
  })

  it.skipIf(!isRoot)("never one that another user owns", async () => {
    const dir = await rootParent()
    fs.chownSync(dir, 4242, 4242)
    expect(unsafeParent(dir)).toBe("owned by uid 4242")
  })
})

describe.skipIf(!isRoot)("unpacking the addon and the shim", () => {
  it("loads the addon, runs the shim through PID 1's own fd, and leaves nothing on disk", async () => {
    const parent = await rootParent()
    const unpacked = unpackNative(addon, shim, [parent])
    expect(fs.readdirSync(parent)).toEqual([])
    const stat = fs.readFileSync("/proc/self/stat", "utf8")
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2])
    expect((unpacked.addon as NativeAddon).getpgrp()).toBe(pgrp)
    const fd = /^\/proc\/self\/fd\/(\d+)$/.exec(unpacked.execShimPath)?.[1]
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/\/clawkerd-exec \(deleted\)$/)
    // Read-only: nobody, root included, writes the shim through it.
    expect(() => fs.writeSync(Number(fd), "x")).toThrow(/EBADF/)
    const ran = spawnSync(unpacked.execShimPath, ["--file", "/bin/echo", "--", "echo", "through the shim"], {
      encoding: "utf8"
    })
    expect(ran).toMatchObject({ status: 0, stdout: "through the shim\n" })
  })

  it("refuses a file that does not match its embedded hash, and cleans up", async () => {
    const parent = await rootParent()
    const tampered = { ...shim, bytes: Buffer.concat([shim.bytes, Buffer.from("x")]) }
    expect(() => unpackNative(addon, tampered, [parent])).toThrow(NativeUnpackError)
    expect(() => unpackNative(addon, tampered, [parent])).toThrow(/clawkerd-exec: the embedded copy does not match/)
    expect(fs.readdirSync(parent)).toEqual([])
  })

  it("skips unsafe parents and a filesystem that refuses to map code, naming each", async (ctx) => {
    const open = await rootParent()
    fs.chmodSync(open, 0o777)
    const noexec = await rootParent()
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "noexec,size=16m", "tmpfs", noexec])
    if (mounted.status !== 0) return ctx.skip(`cannot mount a noexec tmpfs: ${mounted.stderr}`)
    try {
      const error = (() => {
        try {
          unpackNative(addon, shim, [open, noexec])
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(NativeUnpackError)
      expect((error as NativeUnpackError).message).toMatch(
        new RegExp(`${open}: writable by others.*; ${noexec}: .*(failed to map|Operation not permitted)`)
      )
      expect(fs.readdirSync(noexec)).toEqual([])
    } finally {
      spawnSync("umount", [noexec])
    }
  })
})
