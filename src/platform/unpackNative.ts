import { Data } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/*
 * The single binary (scripts/build-binary.mjs) carries the native addon and the exec shim as assets, but
 * dlopen and execve want files. They are written into a fresh directory that only root can enter, checked
 * against the hash the build embedded, loaded (the addon) or opened read-only (the shim), and unlinked with
 * their directory before any other program of the container runs: nothing is left on disk for the user CMD
 * to read, replace or race. The mapped addon stays in memory; the shim is executed through PID 1's own
 * close-on-exec descriptor, /proc/self/fd/N, which no other process can open (PID 1 is not dumpable).
 */

export interface EmbeddedFile {
  readonly bytes: Uint8Array
  /** SHA-256 of the file, hex, as the build computed it. */
  readonly sha256: string
}

export interface UnpackedNative {
  readonly addon: unknown
  /** `/proc/self/fd/N`: the shim's read-only descriptor, which every exec of the shim goes through. */
  readonly execShimPath: string
}

/**
 * Where the binary's loader (src/programs/binary.ts) leaves what it unpacked for the daemon's bundle, whose
 * src/platform/seaNative.ts stands in for native.ts; the bundle's training run puts the package's addon there.
 */
export const UNPACKED_NATIVE: unique symbol = Symbol.for("clawkerd.unpackedNative")

export class NativeUnpackError extends Data.TaggedError("NativeUnpackError")<{ readonly message: string }> {}

/**
 * Where the private directory may go, in order: the first on a filesystem that allows mapping code wins
 * (/tmp or /dev/shm are often mounted noexec).
 */
export const UNPACK_PARENTS: ReadonlyArray<string> = ["/run", "/tmp", "/var/tmp", "/dev/shm"]

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** Root, as PID 1 always is; another uid only when the binary runs as that user (its build checks it so). */
const owner = (): number => process.getuid?.() ?? 0

/**
 * Why `dir` cannot hold our private directory, or undefined when it can: it must be a real directory owned
 * by root (or by us) that no one else can write, or whose sticky bit keeps others from renaming what we
 * create in it (/tmp).
 */
export const unsafeParent = (dir: string): string | undefined => {
  let stat: fs.Stats
  try {
    stat = fs.lstatSync(dir)
  } catch (e) {
    return (e as Error).message
  }
  if (!stat.isDirectory()) return "not a directory (a symbolic link is never followed)"
  if (stat.uid !== 0 && stat.uid !== owner()) return `owned by uid ${stat.uid}`
  if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0) {
    return `writable by others without the sticky bit (mode ${(stat.mode & 0o7777).toString(8)})`
  }
  return undefined
}

/** Writes `file` (which must not exist), then reads it back: it must hash to what the build embedded. */
const writeVerified = (file: string, embedded: EmbeddedFile): void => {
  if (sha256(embedded.bytes) !== embedded.sha256) {
    throw new NativeUnpackError({ message: `${path.basename(file)}: the embedded copy does not match its hash` })
  }
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants
  const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o500)
  try {
    fs.writeFileSync(fd, embedded.bytes)
  } finally {
    fs.closeSync(fd)
  }
  if (sha256(fs.readFileSync(file)) !== embedded.sha256) {
    throw new NativeUnpackError({ message: `${file}: written, but does not read back as its hash` })
  }
}

/** One attempt in `parent`; the directory and its files are gone when it returns or throws. */
const unpackIn = (parent: string, addon: EmbeddedFile, shim: EmbeddedFile): UnpackedNative => {
  const dir = fs.mkdtempSync(path.join(parent, "clawkerd-"))
  const addonFile = path.join(dir, "clawkerd_native.node")
  const shimFile = path.join(dir, "clawkerd-exec")
  try {
    const stat = fs.lstatSync(dir)
    if (!stat.isDirectory() || stat.uid !== owner() || (stat.mode & 0o777) !== 0o700) {
      throw new NativeUnpackError({ message: `${dir}: not a 0700 directory of uid ${owner()}'s` })
    }
    writeVerified(addonFile, addon)
    writeVerified(shimFile, shim)
    const module = { exports: {} as unknown }
    process.dlopen(module, addonFile, os.constants.dlopen.RTLD_NOW)
    // Read-only, so that exec is not refused as "text file busy"; libuv opens it close-on-exec.
    const shimFd = fs.openSync(shimFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
    return { addon: module.exports, execShimPath: `/proc/self/fd/${shimFd}` }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The addon loaded and the shim's path, unpacked in the first of `parents` that is safe and lets code be
 * mapped.
 */
export const unpackNative = (
  addon: EmbeddedFile,
  shim: EmbeddedFile,
  parents: ReadonlyArray<string> = UNPACK_PARENTS
): UnpackedNative => {
  const refusals: Array<string> = []
  for (const parent of parents) {
    const unsafe = unsafeParent(parent)
    if (unsafe !== undefined) {
      refusals.push(`${parent}: ${unsafe}`)
      continue
    }
    try {
      return unpackIn(parent, addon, shim)
    } catch (e) {
      if (e instanceof NativeUnpackError) throw e
      refusals.push(`${parent}: ${(e as Error).message}`)
    }
  }
  throw new NativeUnpackError({
    message: `cannot unpack the native addon and the exec shim: ${refusals.join("; ")}`
  })
}
