import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { descendantsOf, readProcTable } from "../../src/layers/reaper/procTable.js"

export const isRoot = process.getuid?.() === 0

/** Why PID namespace tests cannot run here, or undefined when they can. */
export const pidNamespaceUnavailable = (): string | undefined => {
  if (!isRoot) return "PID namespace tests need root (unshare --pid)"
  if (!fs.existsSync("/usr/bin/unshare")) return "util-linux unshare is not installed"
  return undefined
}

export interface NamespaceExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Namespaced {
  /** `performance.now()` just before `unshare` was spawned: where a start-up measurement begins. */
  readonly startedAt: number
  /** The namespace's PID 1 as the test sees it (its pid in the test's own namespace). */
  readonly pid: () => Promise<number>
  /** Stdout lines so far, carriage returns (from a pseudo-terminal) stripped. */
  readonly lines: () => ReadonlyArray<string>
  /** The first stdout line (already seen or still to come) that matches. */
  readonly line: (match: RegExp | ((line: string) => boolean)) => Promise<string>
  readonly stderr: () => string
  /** Sends a signal to the namespace's PID 1. */
  readonly signal: (signal: NodeJS.Signals) => Promise<void>
  readonly write: (data: string) => void
  readonly exited: Promise<NamespaceExit>
}

export interface NamespaceOptions {
  readonly env?: Record<string, string>
  /** Run the whole `unshare ...` command under a pseudo-terminal (`script -qec`). */
  readonly tty?: boolean
}

export const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`

/** Finds the process below `root` whose innermost pid is 1: the init of the namespace unshare made. */
const namespaceInit = (root: number): number | undefined =>
  descendantsOf(root, readProcTable()).find((p) => {
    try {
      const nspid = /^NSpid:\s*(.*)$/m.exec(fs.readFileSync(`/proc/${p.pid}/status`, "utf8"))?.[1]?.trim().split(/\s+/)
      return nspid !== undefined && nspid.length > 1 && nspid[nspid.length - 1] === "1"
    } catch {
      return false
    }
  })?.pid

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `argv` as PID 1 of a new PID namespace with its own /proc
 * (`unshare --pid --fork --mount-proc --kill-child`): the way a container runs its init. Generic:
 * a test harness or the built daemon (`node dist/programs/bin.js`) alike.
 */
export const inPidNamespace = (argv: ReadonlyArray<string>, options: NamespaceOptions = {}): Namespaced => {
  const unshare = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", ...argv]
  const [command, ...args] = options.tty === true
    ? ["script", "-qec", unshare.map(shellQuote).join(" "), "/dev/null"]
    : unshare
  const startedAt = performance.now()
  const child = spawn(command ?? "unshare", args, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  const seen: Array<string> = []
  const waiters: Array<{ test: (line: string) => boolean; resolve: (line: string) => void }> = []
  let partial = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n")
    partial = parts.pop() ?? ""
    for (const raw of parts) {
      const line = raw.replace(/\r/g, "")
      seen.push(line)
      for (const w of waiters.filter((w) => w.test(line))) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  })
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const exited = new Promise<NamespaceExit>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })))
  let finished = false
  void exited.then(() => (finished = true))

  let init: Promise<number> | undefined
  const pid = () => (init ??= (async () => {
    for (;;) {
      const found = namespaceInit(child.pid ?? -1)
      if (found !== undefined) return found
      if (finished) throw new Error(`the namespace ended before its init was found; stderr: ${stderr}`)
      await wait(10)
    }
  })())

  const line = (match: RegExp | ((line: string) => boolean)) => {
    const test = typeof match === "function" ? match : (l: string) => match.test(l)
    const already = seen.find(test)
    if (already !== undefined) return Promise.resolve(already)
    return new Promise<string>((resolve, reject) => {
      waiters.push({ test, resolve })
      void exited.then(() =>
        reject(
          new Error(`exited without a line matching ${String(match)}; stdout:\n${seen.join("\n")}\nstderr: ${stderr}`)
        )
      )
    })
  }

  return {
    startedAt,
    pid,
    lines: () => seen,
    line,
    stderr: () => stderr,
    signal: async (signal) => void process.kill(await pid(), signal),
    write: (data) => void child.stdin.write(data),
    exited
  }
}
