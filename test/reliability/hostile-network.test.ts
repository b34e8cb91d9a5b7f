import { describe, expect, it } from "vitest"
import type { HostileScale, HostileTally } from "./support/hostileScenario.js"
import { runHostileNetwork } from "./support/hostileScenario.js"
import {
  collectedHeapInProcess,
  describeFootprint,
  footprint,
  LOW_WATER_GROWTH_BOUND,
  lowWaterGrowth,
  settledFootprint
} from "./support/procStats.js"
import { rigTarget, shellRigUnderTest } from "./support/rigs.js"

/*
 * The real listener and Session dispatcher in this process, attacked from this process: random
 * bytes, early hang-ups, every wrong credential, h2c, and an authorized peer sending fuzzed and
 * unknown frames, a flood and oversized Commands, while a good CP keeps its Hello round trips going.
 * Afterwards this process's fd count is back to its baseline, and its JavaScript heap (after a full
 * collection) stops growing over the measured rounds.
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

/** Rounds after the warm-up, sampled one by one: two windows of two. */
const MEASURED_ROUNDS = 4

const under = shellRigUnderTest()

describe("hostile network against the in-process listener", () => {
  it(
    "refuses and logs every hostile peer, answers every abusive frame, serves the CP throughout, leaks nothing",
    async () => {
      const target = rigTarget(under.rig())
      // A first round at the same scale, so the heap and the allocator are at their working size.
      await runHostileNetwork(target, { ...SHORT, silent: 0 })
      const baseline = await settledFootprint(process.pid, footprint(process.pid))

      const heap: Array<number> = []
      const tallies: Array<HostileTally> = []
      for (let round = 0; round < MEASURED_ROUNDS; round++) {
        tallies.push(await runHostileNetwork(target, SHORT))
        await settledFootprint(process.pid, baseline)
        heap.push(collectedHeapInProcess())
      }
      const after = await settledFootprint(process.pid, baseline)
      const growth = lowWaterGrowth(heap, MEASURED_ROUNDS / 2)
      console.log(
        `hostile (in-process): ${JSON.stringify(tallies[0])}; ${describeFootprint("baseline", baseline)}; ${
          describeFootprint("after", after)
        }; heap after each round's collection: ${heap.map((k) => (k / 1024).toFixed(1)).join(", ")} MiB; ` +
          `low-water growth ${(growth * 100).toFixed(1)} %`
      )
      expect(after.fds).toBeLessThanOrEqual(baseline.fds)
      expect(growth).toBeLessThanOrEqual(LOW_WATER_GROWTH_BOUND)
      for (const tally of tallies) expect(tally.rejectionsLogged).toBe(tally.connections)
      expect(under.unhandled).toEqual([])
    },
    180_000
  )
})
