import * as fs from "node:fs"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import type { LogEvent } from "../../../devkit/daemonLog.js"
import * as C from "../../../src/programs/cp/commands.js"
import { waitFor } from "../../support/wait.js"
import type { Target } from "./hostileScenario.js"

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
 * The daemon's RSS once its quiet reclaim ran after the last Session that ended (MemoryReclaim logs
 * `memory_reclaimed` of kind quiet a second after it): sampled then, rounds compare without one round's
 * uncollected garbage. A busy reclaim does not count: it is a plain full collection that keeps the
 * heap's sizing, so a reading after it lands elsewhere in the reclaim's cycle. `logs` is the daemon's
 * log in order. `notBefore` (epoch ms), when given, is the earliest time the reclaim may carry: under
 * heavy logging the file lags seconds behind the daemon, and a log that has not yet caught up with the
 * last Session would show an earlier reclaim as the last word.
 */
export const reclaimedRss = async (
  pid: number,
  logs: () => ReadonlyArray<LogEvent>,
  notBefore = Number.NEGATIVE_INFINITY
): Promise<number> => {
  await waitFor(
    () => {
      const lines = logs()
      const reclaimed = lines.findLastIndex((l) =>
        l.event === "memory_reclaimed" && l.kind === "quiet" && Date.parse(String(l.time)) >= notBefore
      )
      return reclaimed >= 0 && reclaimed > lines.findLastIndex((l) => l.event === "session_ended")
    },
    30_000,
    "a quiet memory_reclaimed after the last session_ended"
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

/**
 * The daemon's footprint at the one moment the soak's readings compare: its fds back to `fdsOf`, then
 * one Session of the CP's (Hello, then the end of the stream), as the CP comes by after any traffic, and
 * the quiet reclaim a second after that Session ended. Read as soon as the fds settle, RSS lands anywhere
 * in the reclaim's cycle: soak 4's handshake flood read 103.5 MiB after its warm-up and 132.9 after it,
 * with nothing grown in between. The fds are the settled count, before the Session's own connection.
 */
export const quietFootprint = async (
  pid: number,
  target: Pick<Target, "session">,
  logs: () => ReadonlyArray<LogEvent>,
  fdsOf: Footprint
): Promise<Footprint> => {
  const settled = await settledFootprint(pid, fdsOf)
  const session = await target.session()
  const reply = await session.request(C.hello("quiet-footprint"))
  if (reply.payload?.$case !== "helloAck") throw new Error(`the reading's Hello was answered ${reply.payload?.$case}`)
  session.close()
  await session.ended
  // The daemon saw the Session end before we did, and reclaims a second later: half a second on is past
  // every earlier reclaim and short of this one.
  return { fds: settled.fds, rssKiB: await reclaimedRss(pid, logs, Date.now() + 500) }
}

/**
 * The daemon's footprint right after boot: once the quiet reclaim it runs a second after `daemon_idle`
 * (the boot is a burst like a Session) is logged, before any traffic.
 */
export const postBootFootprint = async (pid: number, logs: () => ReadonlyArray<LogEvent>): Promise<Footprint> => {
  // No Session has ended yet, so the first quiet reclaim is the boot's.
  const rss = await reclaimedRss(pid, logs)
  return { fds: fdCount(pid), rssKiB: rss }
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
