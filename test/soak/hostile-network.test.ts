import { describe, expect, it } from "vitest"
import { daemonTestsUnavailable, daemonUnderTest } from "../reliability/support/daemonTarget.js"
import type { HostileScale } from "../reliability/support/hostileScenario.js"
import { runHostileNetwork } from "../reliability/support/hostileScenario.js"
import { describeFootprint, footprint, quietFootprint, rssLimitKiB } from "../reliability/support/procStats.js"

/*
 * The hostile-network mix at the scale (1,000 random-byte connections) against the built
 * daemon as PID 1: one round to warm up, then two measured ones.
 */

const SCALE: HostileScale = {
  garbage: 1_000,
  hangUps: 100,
  silent: 20,
  credentialRounds: 25,
  plaintextH2: 50,
  fuzzFrames: 5_000,
  oversized: 10,
  flood: 20_000,
  stalled: 20_000,
  concurrency: 32
}

const unavailable = daemonTestsUnavailable("the hostile soak")
const daemon = daemonUnderTest()

describe.skipIf(unavailable !== undefined)("soak: hostile network against the daemon as PID 1", () => {
  it("1,000 random-byte connections and the rest: served throughout, all logged, nothing leaked", async () => {
    const { pid, run, target } = daemon()
    const initial = footprint(pid)
    await runHostileNetwork(target, SCALE)
    const baseline = await quietFootprint(pid, target, run.logs, initial)
    const tallies = [await runHostileNetwork(target, SCALE), await runHostileNetwork(target, SCALE)]
    const after = await quietFootprint(pid, target, run.logs, baseline)
    console.log(
      `soak hostile: ${JSON.stringify(tallies)}; ${describeFootprint("initial", initial)}; ${
        describeFootprint("after warm-up", baseline)
      }; ${describeFootprint("after", after)}`
    )
    expect(after.fds).toBeLessThanOrEqual(baseline.fds)
    expect(after.rssKiB).toBeLessThanOrEqual(rssLimitKiB(baseline))
  })
})
