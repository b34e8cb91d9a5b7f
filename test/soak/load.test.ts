import { describe, expect, it } from "vitest"
import { daemonTestsUnavailable, daemonUnderTest } from "../reliability/support/daemonTarget.js"
import { connectCycles, sessionsLoad } from "../reliability/support/load.js"
import type { Footprint } from "../reliability/support/procStats.js"
import {
  describeFootprint,
  footprint,
  postBootFootprint,
  quietFootprint,
  rssLimitKiB
} from "../reliability/support/procStats.js"
import { soak } from "../reliability/support/soak.js"

/*
 * The load and soak figures against the built daemon as PID 1 (the normal suite's
 * test/reliability/load.test.ts runs them scaled down): 50 Sessions x 200 commands, 10,000
 * connect/disconnect cycles, 10 minutes of mixed traffic (1 minute of warm-up), then the daemon idle
 * again. Every RSS reading that a gate compares is taken at the same moment of the daemon's reclaim
 * cycle (quietFootprint), or under traffic against under traffic.
 */

const SESSIONS = 50
const COMMANDS = 200
const CYCLES = 10_000
const SOAK = { warmUpMs: 60_000, measuredMs: 9 * 60_000, sessions: 4, sampleEveryMs: 5_000 } as const

const unavailable = daemonTestsUnavailable("the soak")
const daemon = daemonUnderTest()

/** The middle sample: the level RSS held while traffic ran, one spike or dip aside. */
const medianOf = (samples: ReadonlyArray<number>): number => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

describe.skipIf(unavailable !== undefined)("soak: load against the daemon as PID 1", () => {
  let postBoot: Footprint | undefined

  it(`${SESSIONS} Sessions x ${COMMANDS} mixed commands, each answered`, async () => {
    const { pid, run, target } = daemon()
    postBoot = await postBootFootprint(pid, run.logs)
    const started = Date.now()
    const answered = await sessionsLoad(target, SESSIONS, COMMANDS)
    expect(answered).toBe(SESSIONS * COMMANDS)
    const after = await quietFootprint(pid, target, run.logs, postBoot)
    console.log(
      `soak load: ${answered} answered in ${((Date.now() - started) / 1000).toFixed(1)} s; ${
        describeFootprint("post-boot", postBoot)
      }; ${describeFootprint("after", after)}`
    )
  })

  it(`${CYCLES} Session connect/disconnect cycles`, async () => {
    const { pid, run, target } = daemon()
    const before = await quietFootprint(pid, target, run.logs, footprint(pid))
    const started = Date.now()
    await connectCycles(target, CYCLES, 8)
    const after = await quietFootprint(pid, target, run.logs, before)
    console.log(
      `soak cycles: ${CYCLES} in ${((Date.now() - started) / 1000).toFixed(1)} s; ${
        describeFootprint("before", before)
      }; ${describeFootprint("after", after)}`
    )
    expect(after.fds).toBeLessThanOrEqual(before.fds)
    expect(after.rssKiB).toBeLessThanOrEqual(rssLimitKiB(before))
  })

  it("10 minutes of mixed traffic: every command answered, fd count flat, RSS growth within 10 %", async () => {
    const { pid, run, target } = daemon()
    const report = await soak(target, pid, run.logs, SOAK)
    const peak = Math.max(...report.samples)
    const warmLevel = medianOf(report.warmUpSamples)
    const mib = (samples: ReadonlyArray<number>) => samples.map((k) => (k / 1024).toFixed(0)).join(" ")
    console.log(
      `soak: ${report.commands} commands, ${report.cycles} cycles, ${report.hostile} hostile; warm-up samples (MiB) ${
        mib(report.warmUpSamples)
      }, median ${(warmLevel / 1024).toFixed(1)}; ${describeFootprint("baseline", report.baseline)}; ${
        describeFootprint("final", report.final)
      }; peak RSS ${(peak / 1024).toFixed(1)} MiB; samples (MiB) ${mib(report.samples)}`
    )
    expect(report.final.fds).toBeLessThanOrEqual(report.baseline.fds)
    expect(report.final.rssKiB).toBeLessThanOrEqual(rssLimitKiB(report.baseline))
    // Under traffic against under traffic: the measured minutes' peak against the warm-up's level.
    expect(peak).toBeLessThanOrEqual(rssLimitKiB({ fds: 0, rssKiB: warmLevel }))
  })

  it("idle after all of it: fds and RSS back within 10 % of the post-boot figure", async () => {
    const { pid, run, target } = daemon()
    if (postBoot === undefined) throw new Error("no post-boot reading: the first test did not run")
    const idle = await quietFootprint(pid, target, run.logs, postBoot)
    console.log(`soak idle: ${describeFootprint("post-boot", postBoot)}; ${describeFootprint("idle after all", idle)}`)
    expect(idle.fds).toBeLessThanOrEqual(postBoot.fds)
    expect(idle.rssKiB).toBeLessThanOrEqual(rssLimitKiB(postBoot))
  })
})
