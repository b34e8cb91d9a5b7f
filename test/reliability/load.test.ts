import { describe, expect, it } from "vitest"
import { daemonTestsUnavailable, daemonUnderTest } from "./support/daemonTarget.js"
import { connectCycles, sessionsLoad } from "./support/load.js"
import {
  describeFootprint,
  footprint,
  growthBeyondSpread,
  MIXED_LOW_WATER_GROWTH_BOUND,
  reclaimedRss,
  settledFootprint
} from "./support/procStats.js"
import { mixedTraffic } from "./support/soak.js"

/*
 * Load and a short soak against the built daemon as PID 1, scaled down for the normal suite:
 * 8 Sessions x 40 commands, 200 connect/disconnect cycles, 8 s of mixed traffic to warm up, then
 * 6 rounds of 3 s, RSS sampled after each once the daemon reclaimed memory. test/soak runs the
 * issue's figures: 50 x 200, 10,000 cycles, 10 minutes.
 */

const SHORT_LOAD = { sessions: 8, commands: 40, cycles: 200 } as const
const SHORT_SOAK = { warmUpMs: 8_000, roundMs: 3_000, rounds: 6, sessions: 3 } as const

const unavailable = daemonTestsUnavailable("the load tests")
const daemon = daemonUnderTest()

describe.skipIf(unavailable !== undefined)("load against the daemon as PID 1", () => {
  it(`${SHORT_LOAD.sessions} Sessions x ${SHORT_LOAD.commands} mixed commands, each answered`, async () => {
    const { pid, target } = daemon()
    const before = footprint(pid)
    const answered = await sessionsLoad(target, SHORT_LOAD.sessions, SHORT_LOAD.commands)
    expect(answered).toBe(SHORT_LOAD.sessions * SHORT_LOAD.commands)
    const after = await settledFootprint(pid, before)
    console.log(
      `load: ${answered} answered; ${describeFootprint("before", before)}; ${describeFootprint("after", after)}`
    )
  }, 120_000)

  it(`${SHORT_LOAD.cycles} Session connect/disconnect cycles leave no fd behind`, async () => {
    const { pid, run, target } = daemon()
    const before = footprint(pid)
    await connectCycles(target, SHORT_LOAD.cycles, 4)
    const after = await settledFootprint(pid, before)
    expect(after.fds).toBeLessThanOrEqual(before.fds)
    expect(run.events("session_ended").length).toBeGreaterThanOrEqual(SHORT_LOAD.cycles)
    console.log(
      `cycles: ${SHORT_LOAD.cycles}; ${describeFootprint("before", before)}; ${describeFootprint("after", after)}`
    )
  }, 120_000)

  it("mixed traffic: every command answered, fd count flat, RSS stops growing after warm-up", async () => {
    const { pid, run, target } = daemon()
    const warm = await mixedTraffic(target, SHORT_SOAK.sessions, SHORT_SOAK.warmUpMs)
    const baseline = await settledFootprint(pid, footprint(pid))
    const totals = { ...warm }
    const rss: Array<number> = []
    for (let round = 0; round < SHORT_SOAK.rounds; round++) {
      const done = await mixedTraffic(target, SHORT_SOAK.sessions, SHORT_SOAK.roundMs)
      totals.commands += done.commands
      totals.cycles += done.cycles
      totals.hostile += done.hostile
      await settledFootprint(pid, baseline)
      rss.push(await reclaimedRss(pid, run.logs))
    }
    const final = await settledFootprint(pid, baseline)
    const growth = growthBeyondSpread(rss, SHORT_SOAK.rounds / 2)
    console.log(
      `soak (${
        (SHORT_SOAK.warmUpMs + SHORT_SOAK.rounds * SHORT_SOAK.roundMs) / 1000
      } s): ${totals.commands} commands, ${totals.cycles} cycles, ${totals.hostile} hostile; ${
        describeFootprint("baseline", baseline)
      }; ${describeFootprint("final", final)}; RSS after each round's reclaim: ${
        rss.map((k) => (k / 1024).toFixed(1)).join(", ")
      } MiB; growth beyond the spread ${(growth * 100).toFixed(1)} %`
    )
    expect(final.fds).toBeLessThanOrEqual(baseline.fds)
    expect(growth).toBeLessThanOrEqual(MIXED_LOW_WATER_GROWTH_BOUND)
  }, 120_000)
})
