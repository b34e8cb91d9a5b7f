import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assertBuilt } from "../test/support/daemon.js"
import { pidNamespaceUnavailable } from "../test/support/pidns.js"
import { binary } from "./binary.js"
import { boot } from "./boot.js"
import { concurrency } from "./concurrency.js"
import type { Bench, BenchContext } from "./harness.js"
import { loadAverage } from "./harness.js"
import { latency } from "./latency.js"
import { memory } from "./memory.js"
import { orphans } from "./orphans.js"
import type { BenchRecord, Results } from "./report.js"
import { markdown, summaryLine } from "./report.js"
import { signals } from "./signals.js"
import { ratioChart } from "./svg.js"
import { throughput } from "./throughput.js"

/*
 * npm run bench [-- --quick] [-- NAME...]: runs the benchmarks one after another against the built
 * daemon (npm run bench builds first), then writes results.json, results.md and ratios.svg. A full
 * run of all of them writes these next to this file; --quick (smaller counts: each benchmark's
 * ctx.count), a chosen few or a profiled run write them under bench/results/, so a smoke run never
 * replaces the recorded numbers.
 */

const ALL: ReadonlyArray<Bench> = [boot, binary, memory, orphans, signals, latency, throughput, concurrency]

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const profileDir = args.find((a) => a.startsWith("--cpu-prof="))?.slice("--cpu-prof=".length)
const wanted = args.filter((a) => !a.startsWith("--"))
const unknown = wanted.filter((name) => !ALL.some((b) => b.name === name))
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${ALL.map((b) => b.name).join(", ")}`)
  process.exit(2)
}
const selected = wanted.length === 0 ? ALL : ALL.filter((b) => wanted.includes(b.name))

/**
 * --cpu-prof=DIR: every clawkerd writes a V8 CPU profile into DIR when it exits (bench/profile.mjs,
 * preloaded). Profiled numbers are for finding costs, not for the record.
 */
const profiling = (dir: string): Record<string, string> => {
  fs.mkdirSync(dir, { recursive: true })
  return {
    NODE_OPTIONS: `--import=${path.join(import.meta.dirname, "profile.mjs")}`,
    CLAWKERD_BENCH_PROFILE_DIR: dir
  }
}

const runOne = async (bench: Bench): Promise<BenchRecord> => {
  const started = performance.now()
  const seconds = () => (performance.now() - started) / 1000
  const skip = pidNamespaceUnavailable() ?? bench.unavailable?.()
  if (skip !== undefined) {
    console.log(`${bench.name}: skipped: ${skip}`)
    return { name: bench.name, title: bench.title, seconds: 0, skipped: skip }
  }
  const cleanups: Array<() => Promise<void> | void> = []
  const ctx: BenchContext = {
    quick,
    count: (full, small) => (quick ? small : full),
    defer: (cleanup) => void cleanups.push(cleanup),
    log: (line) => console.log(`  ${bench.name}: ${line}`),
    daemonEnv: profileDir === undefined ? {} : profiling(path.resolve(profileDir))
  }
  console.log(`── ${bench.title}${quick ? " (--quick)" : ""}`)
  try {
    const outcome = await bench.run(ctx)
    for (const m of outcome.measures) console.log(summaryLine(bench.name, m))
    return { name: bench.name, title: bench.title, seconds: seconds(), outcome }
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e)
    console.log(`${bench.name}: FAILED: ${error}`)
    return { name: bench.name, title: bench.title, seconds: seconds(), error }
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup()
      } catch (e) {
        console.log(`${bench.name}: cleanup failed: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
  }
}

const main = async () => {
  assertBuilt()
  const loadAtStart = loadAverage()
  console.log(`load average ${loadAtStart.toFixed(2)} (${os.cpus().length} CPUs); numbers are steadier below 1.5`)
  const records: Array<BenchRecord> = []
  for (const bench of selected) records.push(await runOne(bench))
  const results: Results = {
    generatedAt: new Date().toISOString(),
    quick,
    machine: { node: process.version, cpus: os.cpus().length, load: { start: loadAtStart, end: loadAverage() } },
    benchmarks: records
  }
  const here = import.meta.dirname
  const dir = quick || wanted.length > 0 || profileDir !== undefined ? path.join(here, "results") : here
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify(results, null, 2) + "\n")
  fs.writeFileSync(path.join(dir, "results.md"), markdown(results))
  fs.writeFileSync(path.join(dir, "ratios.svg"), ratioChart(results))
  console.log(`\nwrote ${path.relative(process.cwd(), dir) || "."}/results.json, results.md, ratios.svg`)
  return records.some((r) => r.error !== undefined) ? 1 : 0
}

// Ctrl-C: exit through process.exit, so the namespaces still running are killed (bench/rigs.ts).
process.on("SIGINT", () => process.exit(130))

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e)
  process.exit(1)
})
