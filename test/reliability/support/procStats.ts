import * as fs from "node:fs"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { waitFor } from "../../support/wait.js"

/** A process's footprint as the kernel reports it. */
export interface Footprint {
  readonly fds: number
  /** Resident set size, KiB (VmRSS). */
  readonly rssKiB: number
}

export const fdCount = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length

export const rssKiB = (pid: number): number => {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  if (match?.[1] === undefined) throw new Error(`no VmRSS for ${pid}`)
  return Number(match[1])
}

export const footprint = (pid: number): Footprint => ({ fds: fdCount(pid), rssKiB: rssKiB(pid) })

/** A full collection in this process, without starting it with --expose-gc. */
export const collectGarbage = (): void => {
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc") as () => void
  gc()
  gc()
}

/**
 * The growth allowed between a baseline taken after warm-up and a later sample: 10 % of the
 * baseline (the issue's soak bound), at least 4 MiB so a small process is not judged on allocator
 * rounding.
 */
export const rssLimitKiB = (baseline: Footprint): number =>
  Math.round(baseline.rssKiB + Math.max(baseline.rssKiB / 10, 4096))

/**
 * Waits until the fd count is back to the baseline (sockets close asynchronously after their peer
 * went away), then returns the sample. Rejects naming both numbers if it never gets there.
 */
export const settledFootprint = async (pid: number, baseline: Footprint, timeoutMs = 20_000): Promise<Footprint> => {
  await waitFor(() => fdCount(pid) <= baseline.fds, timeoutMs, `fd count of ${pid} back to ${baseline.fds}`).catch(
    (e: Error) => {
      throw new Error(`${e.message} (now ${fdCount(pid)}: ${fs.readdirSync(`/proc/${pid}/fd`).length} open)`)
    }
  )
  return footprint(pid)
}

/** Socket inodes among a process's open fds. */
const socketInodes = (pid: number): Set<string> =>
  new Set(
    fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))
        return match?.[1] === undefined ? [] : [match[1]]
      } catch {
        return []
      }
    })
  )

/**
 * The TCP port a process listens on, from the kernel's socket table: for a daemon whose log the
 * test cannot read. undefined while it listens on none.
 */
export const listeningPortOf = (pid: number): number | undefined => {
  const mine = socketInodes(pid)
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    for (const line of fs.readFileSync(table, "utf8").split("\n").slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/)
      // State 0A is LISTEN; the local address ends in the hex port.
      if (state === "0A" && inode !== undefined && mine.has(inode)) return parseInt(local!.split(":")[1]!, 16)
    }
  }
  return undefined
}

export const describeFootprint = (label: string, f: Footprint) =>
  `${label}: ${f.fds} fds, RSS ${(f.rssKiB / 1024).toFixed(1)} MiB`
