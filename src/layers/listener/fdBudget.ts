import * as fs from "node:fs"

/** The soft RLIMIT_NOFILE as /proc reports it; undefined when unlimited or unreadable. */
const softFileLimit = (): number | undefined => {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(fs.readFileSync("/proc/self/limits", "utf8"))
    const limit = Number(line?.[1])
    return Number.isSafeInteger(limit) ? limit : undefined
  } catch {
    return undefined
  }
}

const openFiles = (): number => {
  try {
    return fs.readdirSync("/proc/self/fd").length
  } catch {
    return 0
  }
}

/**
 * How many handshakes may be in flight so that, on top of the fds open now, `reserve` of the file
 * limit stay free for the control plane's own connection and the pipes of its commands. At least
 * one, so the CP (which makes room by shedding an older handshake) can always come in.
 */
export const pendingWithinFileLimit = (maxPending: number, reserve: number): number => {
  const limit = softFileLimit()
  if (limit === undefined) return maxPending
  return Math.max(1, Math.min(maxPending, limit - openFiles() - reserve))
}
