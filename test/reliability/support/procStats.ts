import * as fs from "node:fs"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import type { LogEvent } from "../../../devkit/daemonLog.js"
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
const collectGarbage = (): void => {
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc") as () => void
  gc()
  gc()
}

/**
 * The growth allowed between a baseline taken after warm-up and a later sample: 10 % of the
 * baseline (the issue's soak bound), at least 4 MiB so a small process is not judged on allocator
 * rounding. Only the long runs (test/soak) gate on where RSS lands; the short suite checks that it
 * stops growing (`lowWaterGrowth`).
 */
export const rssLimitKiB = (baseline: Footprint): number =>
  Math.round(baseline.rssKiB + Math.max(baseline.rssKiB / 10, 4096))

/**
 * How much the low-water mark of RSS rose across a run of samples: the smallest of the last `window`
 * over the smallest of the first `window`, as a fraction (0.01 = 1 %). A leak raises every later
 * sample; garbage not yet collected or a transient peak raises single samples, which the minimum
 * ignores.
 */
export const lowWaterGrowth = (samples: ReadonlyArray<number>, window: number): number => {
  if (samples.length < 2 * window) throw new Error(`${samples.length} samples for two windows of ${window}`)
  return Math.min(...samples.slice(-window)) / Math.min(...samples.slice(0, window)) - 1
}

/**
 * How far the whole last window of samples rose above the whole first: the smallest of the last `window`
 * over the largest of the first, as a fraction. Positive only when every later sample is above every earlier
 * one, as a leak makes them; one low or high sample (a collection that came early or late) moves neither
 * end. The daemon's RSS on Node 24 spreads ±10 % between rounds that hold the same live heap (measured
 * post-reclaim samples of the hostile rounds: 110.5–122.5 MiB in one run, 115.9–149.4 in another).
 */
export const growthBeyondSpread = (samples: ReadonlyArray<number>, window: number): number => {
  if (samples.length < 2 * window) throw new Error(`${samples.length} samples for two windows of ${window}`)
  return Math.min(...samples.slice(-window)) / Math.max(...samples.slice(0, window)) - 1
}

/**
 * The bound on `lowWaterGrowth` for the hostile rounds (a fixed mix each round). Measured on 2 cores at
 * load averages up to 12 (the quick benchmark in a loop and other test runs beside; post-reclaim
 * samples, windows of 2-3 rounds): at most +2.9 % over 16 runs, often below 1 %; 6 % keeps twice that
 * margin while a leak of a few KiB per connection still shows.
 */
export const LOW_WATER_GROWTH_BOUND = 0.06

/**
 * The bound on `growthBeyondSpread` for rounds of mixed traffic (Sessions, connect cycles and hostile peers
 * for a fixed time, so each round differs). On Node 24 under a loaded machine the daemon's RSS can step up
 * while V8 grows its young generation (one run: 163.6, 188.5, 188.3 | 213.4, 214.6, 213.7 MiB, +13 % beyond
 * the spread; seven others between −1 % and +3 %); where RSS settles after churn is the soak's and the
 * benchmark's business (issue 21), not the short suite's. 25 % still fails a leak of a few KiB per command
 * (thousands of commands a round).
 */
export const MIXED_LOW_WATER_GROWTH_BOUND = 0.25

/**
 * This process's live JavaScript heap (KiB) after a full collection. In-process rigs gate on it: the
 * test worker's RSS also holds vitest, the attackers' TLS sockets and their native buffers, and on Node 24
 * it spread 148–226 MiB between rounds whose heap stayed within 1 MiB (36.8 → 37.7 MiB over four
 * rounds); what the daemon itself keeps in RSS is hostile-daemon.test's, measured on the daemon.
 */
export const collectedHeapInProcess = (): number => {
  collectGarbage()
  return Math.round(v8.getHeapStatistics().used_heap_size / 1024)
}

/**
 * The daemon's RSS once its MemoryReclaim ran after the last Session that ended (it logs
 * `memory_reclaimed` a quiet second after it): sampled then, rounds compare without one round's
 * uncollected garbage. `logs` is the daemon's log in order.
 */
export const reclaimedRss = async (pid: number, logs: () => ReadonlyArray<LogEvent>): Promise<number> => {
  const lastIndexOf = (lines: ReadonlyArray<LogEvent>, event: string) => lines.findLastIndex((l) => l.event === event)
  await waitFor(
    () => {
      const lines = logs()
      return lastIndexOf(lines, "memory_reclaimed") > lastIndexOf(lines, "session_ended")
    },
    30_000,
    "memory_reclaimed after the last session_ended"
  )
  return rssKiB(pid)
}

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
