import { describe, expect, it } from "vitest"
import { makeAdmission } from "../../src/layers/listener/admission.js"
import { makeRefusalLog } from "../../src/layers/listener/refusalLog.js"

/** Connections as the admission table sees them: anything with an identity. */
const conn = (name: string) => ({ name })

describe("admission of handshakes", () => {
  it("over a source's limit, that source's oldest goes", () => {
    const table = makeAdmission<{ name: string }>({ maxPending: 10, maxPendingPerSource: 2 })
    const [a1, a2, a3] = [conn("a1"), conn("a2"), conn("a3")]
    expect(table.admit(a1, "a")).toBeUndefined()
    expect(table.admit(a2, "a")).toBeUndefined()
    expect(table.admit(a3, "a")).toBe(a1)
    table.settled(a1)
    expect(table.pending()).toBe(2)
  })

  it("over the global limit, the oldest of the busiest source goes, never a lone handshake", () => {
    const table = makeAdmission<{ name: string }>({ maxPending: 4, maxPendingPerSource: 8 })
    const cp = conn("cp")
    table.admit(cp, "cp")
    const flood = Array.from({ length: 10 }, (_, i) => conn(`x${i}`))
    const shed = flood.map((c) => {
      const victim = table.admit(c, "x")
      if (victim !== undefined) table.settled(victim)
      return victim?.name
    })
    expect(shed).toEqual([undefined, undefined, undefined, "x0", "x1", "x2", "x3", "x4", "x5", "x6"])
    expect(table.pending()).toBe(4)
  })

  it("on a tie the source whose oldest is older pays; settled is idempotent", () => {
    const table = makeAdmission<{ name: string }>({ maxPending: 2, maxPendingPerSource: 8 })
    const [a, b, c] = [conn("a"), conn("b"), conn("c")]
    table.admit(a, "1")
    table.admit(b, "2")
    expect(table.admit(c, "3")).toBe(a)
    table.settled(a)
    table.settled(a)
    expect(table.pending()).toBe(2)
  })
})

describe("the refusal log's budgets", () => {
  const limits = { linesPerSource: 3, linesPerWindow: 5, trackedSources: 3, summarySources: 2 }

  it("lines per source and per window, everything counted in the window's summary", () => {
    const log = makeRefusalLog(limits)
    const written = [
      ...Array.from({ length: 5 }, () => log.refused("a", "protocol")),
      ...Array.from({ length: 2 }, () => log.refused("b", "cn")),
      log.refused("c", "shed")
    ]
    expect(written).toEqual([true, true, true, false, false, true, true, false])
    expect(log.drain()).toEqual({
      count: 8,
      suppressed: 3,
      sources: { a: 5, b: 2 },
      other_sources: 1,
      distinct_sources: 3,
      reasons: { protocol: 5, cn: 2, shed: 1 }
    })
    expect(log.drain()).toBeUndefined()
    expect(log.refused("a", "protocol")).toBe(true)
  })

  it("past the tracked sources, new ones are counted together under the window's budget", () => {
    const log = makeRefusalLog({ ...limits, linesPerWindow: 100 })
    const written = ["a", "b", "c", "d", "e", "f"].map((s) => log.refused(s, "protocol"))
    expect(written.every(Boolean)).toBe(true)
    const summary = log.drain()!
    expect(summary).toMatchObject({ count: 6, suppressed: 0, distinct_sources: 4, other_sources: 4 })
    expect(Object.keys(summary.sources)).toHaveLength(2)
  })
})
