import { Data, Effect } from "effect"
import { constants } from "node:fs"
import * as fs from "node:fs"
import * as path from "node:path"
import { errorMessage } from "../lib/errorText.js"

/** A file clawkerd writes as root (the init marker, the ready file) could not be, or may not be, written. */
export class RootFileError extends Data.TaggedError("RootFileError")<{
  readonly path: string
  /** Where it failed: making or resolving the file's directory, or the file itself. */
  readonly step: "directory" | "file"
  readonly problem: string
}> {
  override get message(): string {
    return `${this.path}: ${this.problem}`
  }
}

/** Why a path was refused; its message is the RootFileError's problem. */
class Refused extends Error {}

const describe = (e: unknown): string => {
  if (e instanceof Refused) return e.message
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  if (code === "ELOOP") return "is a symbolic link: refused (never followed)"
  if (code === "EISDIR") return "is a directory: refused"
  return errorMessage(e)
}

/** Root, and clawkerd's own uid (the same in a container; the tests' account elsewhere). */
const trustedOwner = (uid: number): boolean => uid === 0 || uid === (process.geteuid?.() ?? 0)

const modeText = (stat: fs.Stats) => `0${(stat.mode & 0o7777).toString(8)}`

/** S_ISVTX, which node's fs.constants lacks. */
const STICKY = 0o1000

/**
 * Whether only root could have put `entry` into `parent`, or can swap it: the directory is root's and
 * nobody else may write it, or it is root's and sticky (like /tmp) and the entry is root's.
 */
const placedByRoot = (parent: fs.Stats, entry: fs.Stats): boolean =>
  trustedOwner(parent.uid) &&
  ((parent.mode & 0o022) === 0 || (parent.mode & STICKY) !== 0 && trustedOwner(entry.uid))

const untrusted = (entry: string, parent: string, stat: fs.Stats) =>
  new Refused(
    `${entry} is in ${parent}, which others may write (owner uid ${stat.uid}, mode ${modeText(stat)}): refused`
  )

const SYMLINK_LIMIT = 40

/** `mkdir` of one level; one that appeared meanwhile is checked like any other. */
const makeLevel = (dir: string) => {
  try {
    fs.mkdirSync(dir, { mode: 0o700 })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
  }
}

/**
 * The directory `dir` resolved from `/` one component at a time, as a path without links (or undefined
 * when a component is missing and `create` is false; created 0700 when true). Every component must be
 * an entry only root could have made or can change (placedByRoot), so nobody else can point the path
 * anywhere: a link is followed only then (Debian's /var/run → /run is root's, in root's /var). The
 * directory itself may be anyone's: the platform gives /var/run/clawker to the agent user.
 */
const resolveDirectory = (dir: string, create: boolean): string | undefined => {
  const pending = path.resolve(dir).split("/").filter((part) => part !== "")
  let current = "/"
  let currentStat = fs.lstatSync(current)
  let links = 0
  while (pending.length > 0) {
    const part = pending.shift()!
    if (part === ".") continue
    if (part === "..") {
      current = path.dirname(current)
      currentStat = fs.lstatSync(current)
      continue
    }
    const next = path.join(current, part)
    let stat = fs.lstatSync(next, { throwIfNoEntry: false })
    if (stat === undefined) {
      if (!create) return undefined
      // Only where what it makes stays root's: in root's directory, writable by nobody else or sticky.
      if (!placedByRoot(currentStat, currentStat)) throw untrusted(next, current, currentStat)
      makeLevel(next)
      stat = fs.lstatSync(next)
    }
    if (!placedByRoot(currentStat, stat)) throw untrusted(next, current, currentStat)
    if (stat.isSymbolicLink()) {
      if (++links > SYMLINK_LIMIT) throw new Refused(`${dir}: too many levels of symbolic links`)
      const target = fs.readlinkSync(next)
      if (target.startsWith("/")) {
        current = "/"
        currentStat = fs.lstatSync(current)
      }
      pending.unshift(...target.split("/").filter((p) => p !== ""))
      continue
    }
    if (!stat.isDirectory()) throw new Refused(`${next} is not a directory`)
    current = next
    currentStat = stat
  }
  return current
}

/**
 * Runs `use` with the directory open (O_DIRECTORY | O_NOFOLLOW) and a path for `name` relative to that
 * very directory (/proc/self/fd/N/name: Node's openat and unlinkat).
 */
const inDirectory = <A>(dir: string, name: string, use: (entry: string) => A): A => {
  const fd = fs.openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
  try {
    return use(`/proc/self/fd/${fd}/${name}`)
  } finally {
    fs.closeSync(fd)
  }
}

/** unlinkat; whether there was something to remove. A directory is refused (EISDIR), never emptied. */
const unlinkEntry = (entry: string): boolean => {
  try {
    fs.unlinkSync(entry)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false
    throw e
  }
}

/** Attempts at replacing a file that someone re-creates between our unlink and our create. */
const CREATE_ATTEMPTS = 3

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

const nameOf = (file: string) => {
  const name = path.basename(file)
  if (name === "" || name === "." || name === "..") throw new Refused("names no file")
  return name
}

/** unlinkat, then openat O_EXCL | O_NOFOLLOW, retried when someone re-creates the name in between. */
const replaceIn = (dir: string, file: string, mode: number, content: string): Effect.Effect<void, RootFileError> =>
  Effect.try({
    try: () =>
      inDirectory(dir, nameOf(file), (entry) => {
        for (let attempt = 1;; attempt++) {
          unlinkEntry(entry)
          let fd: number
          try {
            fd = fs.openSync(entry, CREATE_FLAGS, mode)
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "EEXIST" && attempt < CREATE_ATTEMPTS) continue
            if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Refused("keeps being re-created: refused")
            throw e
          }
          try {
            fs.fchmodSync(fd, mode)
            fs.writeSync(fd, content)
          } finally {
            fs.closeSync(fd)
          }
          return
        }
      }),
    catch: (e) => new RootFileError({ path: file, step: "file", problem: describe(e) })
  })

/**
 * Replaces `file` by a fresh one of root's holding `content` (parents created 0700 when missing): the
 * directory is resolved without any link others could have made (resolveDirectory), whatever is at
 * the name (a link, a hard link to another file, a file) is unlinked, never opened, and the new file
 * is created O_EXCL | O_NOFOLLOW relative to the opened directory, then given exactly `mode`.
 */
export const writeRootFile = (file: string, mode: number, content: string): Effect.Effect<void, RootFileError> =>
  Effect.try({
    try: () => resolveDirectory(path.dirname(path.resolve(file)), true)!,
    catch: (e) => new RootFileError({ path: file, step: "directory", problem: describe(e) })
  }).pipe(Effect.flatMap((dir) => replaceIn(dir, file, mode, content)))

/** Removes `file` if it is there (a link is removed, never followed); whether there was one. */
export const removeRootFile = (file: string): Effect.Effect<boolean, RootFileError> =>
  Effect.try({
    try: () => {
      const name = nameOf(file)
      const dir = resolveDirectory(path.dirname(path.resolve(file)), false)
      return dir === undefined ? false : inDirectory(dir, name, unlinkEntry)
    },
    catch: (e) => new RootFileError({ path: file, step: "file", problem: describe(e) })
  })

/**
 * Whether `file` is one clawkerd wrote: a regular file of root's with no other name, reached without
 * any link others could have made. Synchronous: Hello answers with it inline. Any failure is "no".
 */
export const isRootFile = (file: string): boolean => {
  try {
    const dir = resolveDirectory(path.dirname(path.resolve(file)), false)
    if (dir === undefined) return false
    const stat = fs.lstatSync(path.join(dir, nameOf(file)), { throwIfNoEntry: false })
    return stat !== undefined && stat.isFile() && trustedOwner(stat.uid) && stat.nlink === 1
  } catch {
    return false
  }
}
