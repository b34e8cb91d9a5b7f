import { Data, Effect } from "effect"
import { constants } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { errorMessage } from "../lib/errorText.js"

/** A file clawkerd writes as root (the init marker, the ready file) could not be, or may not be, written. */
export class RootFileError extends Data.TaggedError("RootFileError")<{
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `${this.path}: ${this.problem}`
  }
}

const describe = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  if (code === "ELOOP") return "is a symbolic link: refused (never followed)"
  return errorMessage(e)
}

/**
 * Why a directory is no place for a file root writes, or undefined: anyone but root (clawkerd's
 * own uid) who may write into it could swap the file for a link between two of our steps.
 */
const unsafeDirectory = (stat: { readonly uid: number; readonly mode: number }): string | undefined => {
  const self = process.geteuid?.() ?? 0
  const mode = `0${(stat.mode & 0o7777).toString(8)}`
  if (stat.uid !== self) return `its directory is owned by uid ${stat.uid} (mode ${mode}): refused`
  if ((stat.mode & 0o022) !== 0) return `its directory is writable by group or others (mode ${mode}): refused`
  return undefined
}

const OPEN_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK

/**
 * Creates `file` if missing (with `mode`, parents 0700), then replaces its content with `content` and
 * bumps its mtime, never following a link: the directory is opened and checked first, then the file is
 * opened relative to that very directory (through /proc/self/fd, Node's openat), O_NOFOLLOW, and must
 * be a regular file.
 */
export const writeRootFile = (file: string, mode: number, content: string): Effect.Effect<void, RootFileError> =>
  Effect.tryPromise({
    try: async () => {
      const dir = path.dirname(file)
      await fs.mkdir(dir, { recursive: true, mode: 0o700 })
      const dirHandle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
      try {
        const unsafe = unsafeDirectory(await dirHandle.stat())
        if (unsafe !== undefined) throw new Error(unsafe)
        const handle = await fs.open(`/proc/self/fd/${dirHandle.fd}/${path.basename(file)}`, OPEN_FLAGS, mode)
        try {
          if (!(await handle.stat()).isFile()) throw new Error("is not a regular file: refused")
          await handle.truncate(0)
          await handle.write(content, 0)
          const now = new Date()
          await handle.utimes(now, now)
        } finally {
          await handle.close()
        }
      } finally {
        await dirHandle.close()
      }
    },
    catch: (e) => new RootFileError({ path: file, problem: describe(e) })
  })

/** Removes `file` if it is there (a link is removed, never followed); whether there was one. */
export const removeRootFile = (file: string): Effect.Effect<boolean, RootFileError> =>
  Effect.tryPromise({
    try: () =>
      fs.unlink(file).then(() => true, (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return false
        throw e
      }),
    catch: (e) => new RootFileError({ path: file, problem: describe(e) })
  })
