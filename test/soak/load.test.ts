import { describe, expect, it } from "vitest"
import { daemonTestsUnavailable, daemonUnderTest } from "../reliability/support/daemonTarget.js"
import { connectCycles, sessionsLoad } from "../reliability/support/load.js"
import { describeFootprint, footprint, rssLimitKiB, settledFootprint } from "../reliability/support/procStats.js"
import { soak } from "../reliability/support/soak.js"

/*
 * The load and soak figures against the built daemon as PID 1 (the normal suite's
 * test/reliability/load.test.ts runs them scaled down): 50 Sessions x 200 commands, 10,000
 * connect/disconnect cycles, 10 minutes of mixed traffic (1 minute of warm-up).
 */

const SESSIONS = 50
const COMMANDS = 200
const CYCLES = 10_000
const SOAK = { warmUpMs: 60_000, measuredMs: 9 * 60_000, sessions: 4, sampleEveryMs: 5_000 } as const

const unavailable = daemonTestsUnavailable("the soak")
const daemon = daemonUnderTest()

describe.skipIf(unavailable !== undefined)("soak: load against the daemon as PID 1", () => {
  it(`${SESSIONS} Sessions x ${COMMANDS} mixed commands, each answered`, async () => {
    const { pid, target } = daemon()
    const before = footprint(pid)
    const started = Date.now()
    const answered = await sessionsLoad(target, SESSIONS, COMMANDS)
    expect(answered).toBe(SESSIONS * COMMANDS)
    const after = await settledFootprint(pid, before)
    console.log(
      `soak load: ${answered} answered in ${((Date.now() - started) / 1000).toFixed(1)} s; ${
        describeFootprint("before", before)
      }; ${describeFootprint("after", after)}`
    )
  })

  it(`${CYCLES} Session connect/disconnect cycles`, async () => {
    const { pid, target } = daemon()
    const before = footprint(pid)
    const started = Date.now()
    await connectCycles(target, CYCLES, 8)
    const after = await settledFootprint(pid, before)
    console.log(
      `soak cycles: ${CYCLES} in ${((Date.now() - started) / 1000).toFixed(1)} s; ${
        describeFootprint("before", before)
      }; ${describeFootprint("after", after)}`
    )
    expect(after.fds).toBeLessThanOrEqual(before.fds)
    expect(after.rssKiB).toBeLessThanOrEqual(rssLimitKiB(before))
  })

  it("10 minutes of mixed traffic: every command answered, fd count flat, RSS growth within 10 %", async () => {
    const { pid, target } = daemon()
    const report = await soak(target, pid, SOAK)
    const peak = Math.max(...report.samples)
    console.log(
      `soak: ${report.commands} commands, ${report.cycles} cycles, ${report.hostile} hostile; ${
        describeFootprint("baseline", report.baseline)
      }; ${describeFootprint("final", report.final)}; peak RSS ${(peak / 1024).toFixed(1)} MiB; samples (MiB) ${
        report.samples.map((k) => (k / 1024).toFixed(0)).join(" ")
      }`
    )
    expect(report.final.fds).toBeLessThanOrEqual(report.baseline.fds)
    expect(report.final.rssKiB).toBeLessThanOrEqual(rssLimitKiB(report.baseline))
    expect(peak).toBeLessThanOrEqual(rssLimitKiB(report.baseline))
  })
})
