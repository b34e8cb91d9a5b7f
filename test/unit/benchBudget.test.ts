import { describe, expect, it } from "vitest"
import { measure } from "../../bench/harness.js"
import type { Results } from "../../bench/report.js"
import { budget } from "../../bench/report.js"

const run = (benchmarks: Results["benchmarks"]): Results => ({
  generatedAt: "2026-12-01T00:00:00.000Z",
  quick: false,
  machine: { node: "v24.22.3", cpus: 2, load: { start: 1, end: 1 } },
  benchmarks
})

/** A run in which only the memory benchmark ran, with these measures. */
const memoryRun = (...measures: ReadonlyArray<ReturnType<typeof measure>>): Results =>
  run([{ name: "memory", title: "memory", seconds: 1, outcome: { counts: {}, measures } }])
const bareNode = { baseline: { name: "bare idle node", value: 42 } }

describe("bench: the per-container budget", () => {
  it("takes each row's figure, baseline and ratio from its benchmark, and names a benchmark that did not run", () => {
    const rows = budget(memoryRun(
      measure("RSS after boot", "MiB", 60, bareNode),
      measure("RSS after 1000 Sessions", "MiB", 63, bareNode)
    ))
    expect(rows).toHaveLength(2 + 5)
    expect(rows[2]).toBe("| idle RSS after boot | 60.0 MiB | 42.0 MiB (bare idle node) | 1.43 |")
    expect(rows[3]).toBe(
      "| RSS after the churn's Sessions came and went | 63.0 MiB | 42.0 MiB (bare idle node) | 1.50 |"
    )
    expect(rows[4]).toContain("not measured in this run (`boot`)")
    expect(rows[6]).toContain("not measured in this run (`throughput`)")
  })

  it("finds the churn's row under --quick too, whose metric names its smaller count", () => {
    const rows = budget(memoryRun(measure("RSS after 200 Sessions", "MiB", 63, bareNode)))
    expect(rows[3]).toBe(
      "| RSS after the churn's Sessions came and went | 63.0 MiB | 42.0 MiB (bare idle node) | 1.50 |"
    )
  })
})
