import { describe, expect, it } from "vitest"
import type { HostileScale } from "./support/hostileScenario.js"
import { runHostileNetwork } from "./support/hostileScenario.js"
import { collectGarbage, describeFootprint, footprint, rssLimitKiB, settledFootprint } from "./support/procStats.js"
import { rigTarget, shellRigUnderTest } from "./support/rigs.js"

/*
 * The real listener and Session dispatcher in this process, attacked from this process: random
 * bytes, early hang-ups, every wrong credential, h2c, and an authorized peer sending fuzzed and
 * unknown frames, a flood and oversized Commands, while a good CP keeps its Hello round trips going.
 * Afterwards this process's fd count is back to its baseline and its RSS within 10 % of it.
 */

/** The short suite's scale (test/soak runs 1,000 connections). */
const SHORT: HostileScale = {
  garbage: 200,
  hangUps: 20,
  silent: 5,
  credentialRounds: 3,
  plaintextH2: 10,
  fuzzFrames: 400,
  oversized: 3,
  flood: 1_000,
  stalled: 2_000,
  concurrency: 16
}

const under = shellRigUnderTest()

describe("hostile network against the in-process listener", () => {
  it(
    "refuses and logs every hostile peer, answers every abusive frame, serves the CP throughout, leaks nothing",
    async () => {
      const target = rigTarget(under.rig())
      // A first round at the same scale, so the heap and the allocator are at their working size.
      await runHostileNetwork(target, { ...SHORT, silent: 0 })
      collectGarbage()
      const baseline = await settledFootprint(process.pid, footprint(process.pid))

      const tally = await runHostileNetwork(target, SHORT)
      const after = await settledFootprint(process.pid, baseline)
      collectGarbage()
      const collected = footprint(process.pid)
      console.log(
        `hostile (in-process): ${JSON.stringify(tally)}; ${describeFootprint("baseline", baseline)}; ${
          describeFootprint("after", collected)
        }`
      )
      expect(after.fds).toBeLessThanOrEqual(baseline.fds)
      expect(collected.rssKiB).toBeLessThanOrEqual(rssLimitKiB(baseline))
      expect(tally.rejectionsLogged).toBe(tally.connections)
      expect(under.unhandled).toEqual([])
    },
    180_000
  )
})
