import { describe, expect, it } from "vitest"
import { daemonTestsUnavailable, daemonUnderTest } from "./support/daemonTarget.js"
import { connectCycles, sessionsLoad } from "./support/load.js"
import { describeFootprint, footprint, rssLimitKiB, settledFootprint } from "./support/procStats.js"
import { soak } from "./support/soak.js"

/*
 * Load and a short soak against the built daemon as PID 1, scaled down for the normal suite:
 * 8 Sessions x 40 commands, 200 connect/disconnect cycles, 20 s of mixed traffic (8 s warm-up).
 * test/soak runs the figures: 50 x 200, 10,000 cycles, 10 minutes.
 */

const SHORT_LOAD = { sessions: 8, commands: 40, cycles: 200 } as const
const SHORT_SOAK = { warmUpMs: 8_000, measuredMs: 12_000, sessions: 3, sampleEveryMs: 1_000 } as const

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

  it("mixed traffic: every command answered, fd count flat, RSS within 10 % after warm-up", async () => {
    const { pid, target } = daemon()
    const report = await soak(target, pid, SHORT_SOAK)
    const peak = Math.max(...report.samples)
    console.log(
      `soak (${
        (SHORT_SOAK.warmUpMs + SHORT_SOAK.measuredMs) / 1000
      } s): ${report.commands} commands, ${report.cycles} cycles, ${report.hostile} hostile; ${
        describeFootprint("baseline", report.baseline)
      }; ${describeFootprint("final", report.final)}; peak RSS ${(peak / 1024).toFixed(1)} MiB`
    )
    expect(report.final.fds).toBeLessThanOrEqual(report.baseline.fds)
    expect(report.final.rssKiB).toBeLessThanOrEqual(rssLimitKiB(report.baseline))
  }, 120_000)
})
