import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { descendantsOf, readProcTable } from "../../src/layers/reaper/procTable.js"
import * as C from "../../src/programs/cp/commands.js"
import { outputOf } from "../../src/programs/cp/cpClient.js"
import { waitFor } from "../support/wait.js"
import { daemonTestsUnavailable, daemonUnderTest } from "./support/daemonTarget.js"
import type { HostileScale } from "./support/hostileScenario.js"
import { runHostileNetwork } from "./support/hostileScenario.js"
import {
  describeFootprint,
  footprint,
  growthBeyondSpread,
  LOW_WATER_GROWTH_BOUND,
  reclaimedRss,
  rssKiB,
  settledFootprint
} from "./support/procStats.js"

/*
 * The same hostile mix, smaller, against the built daemon as PID 1 of a PID namespace: its own
 * process, so its fd count and RSS are measured alone (no forced GC there). Then a CP that stops
 * reading while a command floods output: the daemon must hold back, not buffer.
 */

const SCALE: HostileScale = {
  garbage: 100,
  hangUps: 10,
  silent: 0,
  credentialRounds: 2,
  plaintextH2: 5,
  fuzzFrames: 200,
  oversized: 2,
  flood: 500,
  stalled: 1_000,
  concurrency: 8
}

/**
 * The daemon's heap and malloc arenas grow to a high-water mark over the first rounds (measured: +25
 * MiB, +20 MiB, then about flat); a leak keeps growing. So RSS is sampled after each of the measured
 * rounds, once the daemon reclaimed memory, and the low-water mark of the last rounds is compared with
 * that of the first ones.
 */
const WARM_UP_ROUNDS = 3
const MEASURED_ROUNDS = 6

/** Output the flooding command writes: far more than the daemon may hold for a CP that does not read. */
const FLOOD_BYTES = 64 * 1024 * 1024

const unavailable = daemonTestsUnavailable("the hostile-network daemon tests")
const daemon = daemonUnderTest()

describe.skipIf(unavailable !== undefined)("hostile network against the daemon as PID 1", () => {
  it("serves the CP throughout, logs every refusal, its fd count comes back and its RSS stops growing", async () => {
    const { pid, run, target } = daemon()
    for (let round = 0; round < WARM_UP_ROUNDS; round++) await runHostileNetwork(target, SCALE)
    const baseline = await settledFootprint(pid, footprint(pid))

    const tallies = []
    const rss: Array<number> = []
    for (let round = 0; round < MEASURED_ROUNDS; round++) {
      tallies.push(await runHostileNetwork(target, SCALE))
      await settledFootprint(pid, baseline)
      rss.push(await reclaimedRss(pid, run.logs))
    }
    const after = await settledFootprint(pid, baseline)
    const growth = growthBeyondSpread(rss, MEASURED_ROUNDS / 2)
    const mib = rss.map((k) => (k / 1024).toFixed(1)).join(", ")
    console.log(
      `hostile (daemon), ${WARM_UP_ROUNDS} warm-up + ${MEASURED_ROUNDS} measured rounds of ${
        JSON.stringify(tallies[0])
      }; ${describeFootprint("baseline", baseline)}; ${describeFootprint("after", after)}; ` +
        `RSS after each round's reclaim: ${mib} MiB; growth beyond the spread ${(growth * 100).toFixed(1)} %`
    )
    expect(after.fds).toBeLessThanOrEqual(baseline.fds)
    expect(growth).toBeLessThanOrEqual(LOW_WATER_GROWTH_BOUND)
  }, 240_000)

  it("a CP that stops reading while a command floods output: the command blocks, the daemon holds little", async () => {
    const { pid, target } = daemon()
    const s = await target.session()
    expect((await s.request(C.hello("before"))).payload?.$case).toBe("helloAck")
    const before = rssKiB(pid)
    s.call.pause()
    s.send(C.shell("flood", [C.stage(["head", "-c", String(FLOOD_BYTES), "/dev/zero"])]))
    // Backpressure reached the child: it sleeps in a pipe write, because nobody drains its output.
    await waitFor(
      () => {
        const head = descendantsOf(pid, readProcTable()).find((p) =>
          fs.readFileSync(`/proc/${p.pid}/comm`, "utf8") === "head\n"
        )
        return head !== undefined && /pipe_write/.test(fs.readFileSync(`/proc/${head.pid}/wchan`, "utf8"))
      },
      30_000,
      "the flooding command blocked on its output pipe"
    )
    const stalled = rssKiB(pid)
    s.call.resume()
    const replies = await s.collectUntilTerminal("flood", 120_000)
    expect(outputOf(replies).length).toBe(FLOOD_BYTES)
    expect(replies.at(-1)!.payload).toEqual({ $case: "done", value: { finalExitCode: 0 } })
    s.close()
    await s.ended
    console.log(
      `stalled reader: RSS ${(before / 1024).toFixed(1)} MiB before, ${
        (stalled / 1024).toFixed(1)
      } MiB with the output held back`
    )
    expect(stalled - before).toBeLessThan(FLOOD_BYTES / 1024 / 4)
  }, 180_000)
})
