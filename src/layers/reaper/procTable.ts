import * as fs from "node:fs"

/** The two fields of /proc/<pid>/stat the drain needs. */
export interface ProcEntry {
  readonly pid: number
  readonly ppid: number
  /** R, S, D, Z, T, ... ("Z": exited, waiting to be reaped). */
  readonly state: string
}

/**
 * "pid (comm) S ppid ...": comm may hold spaces and parentheses, so the fields are found after
 * the last ")".
 */
export const parseStat = (pid: number, text: string): ProcEntry | undefined => {
  const close = text.lastIndexOf(")")
  if (close < 0) return undefined
  const [state, ppid] = text.slice(close + 2).split(" ", 2)
  if (state === undefined || ppid === undefined) return undefined
  return { pid, ppid: Number(ppid), state }
}

/** Processes below `root` in the parent tree (not `root` itself). */
export const descendantsOf = (root: number, table: ReadonlyArray<ProcEntry>): Array<ProcEntry> => {
  const children = new Map<number, Array<ProcEntry>>()
  for (const entry of table) {
    const siblings = children.get(entry.ppid)
    if (siblings === undefined) children.set(entry.ppid, [entry])
    else siblings.push(entry)
  }
  const found: Array<ProcEntry> = []
  const pending = [root]
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child)
      pending.push(child.pid)
    }
  }
  return found
}

/** Enough for the fields we read, even behind a 64-byte kernel-thread name. */
const HEAD = 256

/**
 * Every process in /proc, reading only the head of each stat file into one buffer. A process that
 * vanishes between readdir and open is skipped. It costs ~25 µs per process (the kernel's side of
 * the stat file), so it runs at teardown, not on every SIGCHLD.
 */
export const readProcTable = (): Array<ProcEntry> => {
  const buffer = Buffer.alloc(HEAD)
  const table: Array<ProcEntry> = []
  for (const name of fs.readdirSync("/proc")) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    let fd: number
    try {
      fd = fs.openSync(`/proc/${name}/stat`, "r")
    } catch {
      continue
    }
    try {
      const entry = parseStat(pid, buffer.toString("latin1", 0, fs.readSync(fd, buffer, 0, HEAD, 0)))
      if (entry !== undefined) table.push(entry)
    } catch {
      // gone between open and read
    } finally {
      fs.closeSync(fd)
    }
  }
  return table
}
