import * as fs from "node:fs"
import * as os from "node:os"

/*
 * What every benchmark shares: its context (counts, cleanup), the measures it reports, and the few
 * statistics and /proc readings they need. A benchmark runs clawkerd and its baseline in the same
 * process run and reports their ratio: these machines are shared, so only same-run ratios mean much.
 */

/** A target on the ratio (clawkerd ÷ baseline) or on clawkerd's own value. */
export interface Target {
  readonly on: "ratio" | "value"
  readonly op: "<=" | ">="
  readonly limit: number
}

export interface Measure {
  readonly metric: string
  readonly unit: string
  readonly clawkerd: number
  readonly baseline?: { readonly name: string; readonly value: number }
  /** clawkerd ÷ baseline. */
  readonly ratio?: number
  readonly target?: Target
  readonly met?: boolean
}

export interface BenchOutcome {
  readonly measures: ReadonlyArray<Measure>
  /** How the run was shaped (counts, sizes), so a reader knows what the numbers are of. */
  readonly counts: Readonly<Record<string, number>>
  readonly notes?: ReadonlyArray<string>
}

export interface BenchContext {
  readonly quick: boolean
  /** `full` normally, `quick` under --quick. */
  readonly count: (full: number, quick: number) => number
  /** Runs after the benchmark, success or not, last registered first. */
  readonly defer: (cleanup: () => Promise<void> | void) => void
  readonly log: (line: string) => void
  /** Extra environment for every clawkerd the benchmark starts (--cpu-prof sets NODE_OPTIONS). */
  readonly daemonEnv: Readonly<Record<string, string>>
}

export interface Bench {
  readonly name: string
  readonly title: string
  /** Why it cannot run here (printed, and the benchmark is skipped), or undefined. */
  readonly unavailable?: () => string | undefined
  readonly run: (ctx: BenchContext) => Promise<BenchOutcome>
}

const check = (value: number, target: Target) => (target.op === "<=" ? value <= target.limit : value >= target.limit)

/** One measure; with a baseline its ratio, with a target whether it was met. */
export const measure = (
  metric: string,
  unit: string,
  clawkerd: number,
  options: { readonly baseline?: { name: string; value: number }; readonly target?: Target } = {}
): Measure => {
  const ratio = options.baseline === undefined || options.baseline.value === 0
    ? undefined
    : clawkerd / options.baseline.value
  const judged = options.target === undefined
    ? undefined
    : options.target.on === "ratio"
    ? ratio === undefined ? undefined : check(ratio, options.target)
    : check(clawkerd, options.target)
  return {
    metric,
    unit,
    clawkerd,
    ...(options.baseline === undefined ? {} : { baseline: options.baseline }),
    ...(ratio === undefined ? {} : { ratio }),
    ...(options.target === undefined ? {} : { target: options.target }),
    ...(judged === undefined ? {} : { met: judged })
  }
}

export const targetText = (t: Target) =>
  `${t.on === "ratio" ? "ratio" : "value"} ${t.op === "<=" ? "≤" : "≥"} ${t.limit}`

/** The p-th percentile (0..100) by nearest rank. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1]!
}

export const median = (values: ReadonlyArray<number>) => percentile(values, 50)

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Resolves with `promise`, or rejects after `ms` naming `what`. */
export const within = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/** VmRSS and VmHWM (peak) of a live process, in MiB. */
export const memoryOf = (pid: number): { readonly rss: number; readonly peak: number; readonly anon: number } => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN)
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024, anon: kib("RssAnon") / 1024 }
}

/** Clock ticks per second of /proc/PID/stat's times: USER_HZ, 100 on every Linux architecture Node runs on. */
const USER_HZ = 100

/** CPU seconds (user + system, all threads) a live process has used so far, from /proc/PID/stat. */
export const cpuSecondsOf = (pid: number): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the command name, which is in parentheses and may itself hold spaces; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ
}

export const loadAverage = (): number => os.loadavg()[0] ?? Number.NaN

export const MiB = 1024 * 1024
