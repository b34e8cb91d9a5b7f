import type { BenchOutcome, Measure } from "./harness.js"
import { targetText } from "./harness.js"

/** One benchmark's entry in results.json. */
export interface BenchRecord {
  readonly name: string
  readonly title: string
  readonly seconds: number
  readonly outcome?: BenchOutcome
  readonly skipped?: string
  readonly error?: string
}

export interface Results {
  readonly generatedAt: string
  readonly quick: boolean
  readonly machine: {
    readonly node: string
    readonly cpus: number
    /** 1-minute load average when the run started and when it ended. */
    readonly load: { readonly start: number; readonly end: number }
  }
  readonly benchmarks: ReadonlyArray<BenchRecord>
}

const number = (value: number) =>
  !Number.isFinite(value)
    ? String(value)
    : Math.abs(value) >= 100
    ? value.toFixed(0)
    : Math.abs(value) >= 10
    ? value.toFixed(1)
    : Math.abs(value) >= 1
    ? value.toFixed(2)
    : value.toFixed(3)

const verdict = (m: Measure) => (m.met === undefined ? "" : m.met ? "met" : "**missed**")

/** One line of the console summary, printed as each benchmark finishes. */
export const summaryLine = (name: string, m: Measure): string =>
  [
    `${name}: ${m.metric}: ${number(m.clawkerd)} ${m.unit}`,
    m.baseline === undefined ? "" : ` vs ${m.baseline.name} ${number(m.baseline.value)} ${m.unit}`,
    m.ratio === undefined ? "" : ` → ratio ${number(m.ratio)}`,
    m.target === undefined ? "" : ` (target ${targetText(m.target)}: ${m.met === true ? "met" : "MISSED"})`
  ].join("")

/**
 * What one container pays for its clawkerd (issue 18): a row each, picked from the benchmarks by name and
 * metric. The throughput row's metric is clawkerd's CPU seconds per GiB of output.
 */
const BUDGET: ReadonlyArray<{ readonly row: string; readonly bench: string; readonly metric: RegExp }> = [
  { row: "idle RSS after boot", bench: "memory", metric: /^RSS after boot$/ },
  // 1,000 Sessions, 200 with --quick: the metric names its count.
  { row: "RSS after the churn's Sessions came and went", bench: "memory", metric: /^RSS after \d+ Sessions$/ },
  { row: "boot: exec to the first mTLS handshake", bench: "boot", metric: /^median boot, ratio$/ },
  { row: "image size: what the agent image gains", bench: "binary", metric: /^file size$/ },
  { row: "CPU per GiB of output", bench: "throughput", metric: /^median CPU per GiB sent$/ }
]

/** The per-container budget table, from the measures of this run; a row whose benchmark did not run says so. */
export const budget = (results: Results): ReadonlyArray<string> => [
  "| per container | clawkerd | baseline | ratio |",
  "|---|---|---|---|",
  ...BUDGET.map(({ bench, metric, row }) => {
    const m = results.benchmarks.find((b) => b.name === bench)?.outcome?.measures.find((x) => metric.test(x.metric))
    if (m === undefined) return `| ${row} | not measured in this run (\`${bench}\`) | | |`
    return `| ${row} | ${number(m.clawkerd)} ${m.unit} | ${
      m.baseline === undefined ? "" : `${number(m.baseline.value)} ${m.unit} (${m.baseline.name})`
    } | ${m.ratio === undefined ? "" : number(m.ratio)} |`
  })
]

/** The readable table: one row per measure, then the per-container budget. */
export const markdown = (results: Results): string => {
  const { load, node, cpus } = results.machine
  const lines = [
    `# clawkerd benchmarks${results.quick ? " (--quick)" : ""}`,
    "",
    `${results.generatedAt}, Node ${node}, ${cpus} CPUs, load average ${load.start.toFixed(2)} at the start and ${
      load.end.toFixed(2)
    } at the end. Ratio = clawkerd ÷ baseline, both measured in this run.`,
    "",
    "| benchmark | metric | clawkerd | baseline | ratio | target | |",
    "|---|---|---|---|---|---|---|"
  ]
  const notes: Array<string> = []
  for (const b of results.benchmarks) {
    if (b.outcome === undefined) {
      lines.push(
        `| ${b.name} | ${b.skipped !== undefined ? `skipped: ${b.skipped}` : `failed: ${b.error}`} | | | | | |`
      )
      continue
    }
    for (const m of b.outcome.measures) {
      lines.push(
        `| ${b.name} | ${m.metric} | ${number(m.clawkerd)} ${m.unit} | ${
          m.baseline === undefined ? "" : `${number(m.baseline.value)} ${m.unit} (${m.baseline.name})`
        } | ${m.ratio === undefined ? "" : number(m.ratio)} | ${m.target === undefined ? "" : targetText(m.target)} | ${
          verdict(m)
        } |`
      )
    }
    const counts = Object.entries(b.outcome.counts).map(([k, v]) => `${k} ${v}`).join(", ")
    notes.push(
      `- **${b.name}** (${b.title}; ${counts}; ${b.seconds.toFixed(0)} s): ${(b.outcome.notes ?? []).join(" ")}`
    )
  }
  return [...lines, "", ...notes, "", "## Per-container budget", "", ...budget(results), ""].join("\n")
}
