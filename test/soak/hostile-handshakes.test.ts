import { describe, expect, it } from "vitest"
import { daemonTestsUnavailable, daemonUnderTest } from "../reliability/support/daemonTarget.js"
import type { FloodShape } from "../reliability/support/handshakeFlood.js"
import { holdHandshakes, probeControlPlane } from "../reliability/support/handshakeFlood.js"
import { describeFootprint, footprint, quietFootprint, rssLimitKiB } from "../reliability/support/procStats.js"

/*
 * The handshake flood at length: the 2,000 unfinished handshakes from 20 sources held for two minutes
 * against the daemon as PID 1 with 1,024 fds, the CP dialling in afresh every 250 ms throughout;
 * then the daemon's fds and RSS are back near where a warm-up round left them.
 */

const FILE_LIMIT = 1_024
const SHAPE: FloodShape = { idle: 1_000, slowTls: 1_000, sources: 20, reopenAfterMs: 1_000 }
/**
 * The daemon's heap and malloc arenas reach their high-water mark within the first 15 s of the flood
 * (measured: ~140 MiB, then flat over six 15 s rounds), so the RSS baseline is taken after this.
 */
const WARM_UP_MS = 30_000
const DURATION_MS = 120_000
/** The 1 s is reported; the gate leaves room for a loaded machine (see the short version). */
const HELLO_GATE_MS = 10_000

const unavailable = daemonTestsUnavailable("the handshake flood soak")
const daemon = daemonUnderTest({ prelude: `ulimit -n ${FILE_LIMIT}` })

const floodFor = async (port: number, target: Parameters<typeof probeControlPlane>[0], ms: number) => {
  const flood = holdHandshakes(port, SHAPE)
  const latencies = await probeControlPlane(target, ms, 250)
  const dropped = flood.dropped()
  flood.stop()
  return { latencies, dropped }
}

describe.skipIf(unavailable !== undefined)("soak: a flood of unfinished handshakes", () => {
  it(`${SHAPE.idle + SHAPE.slowTls} held for ${DURATION_MS / 1000} s: the CP connects throughout`, async () => {
    const { pid, run, target } = daemon()
    const initial = footprint(pid)
    await floodFor(target.port, target, WARM_UP_MS)
    const baseline = await quietFootprint(pid, target, run.logs, initial)
    const { dropped, latencies } = await floodFor(target.port, target, DURATION_MS)
    const after = await quietFootprint(pid, target, run.logs, baseline)
    console.log(
      `soak handshake flood: ${
        SHAPE.idle + SHAPE.slowTls
      } held from ${SHAPE.sources} sources, ${dropped} dropped and reopened; fresh CP Hello ${
        JSON.stringify(latencies)
      }; ${describeFootprint("initial", initial)}; ${describeFootprint("after warm-up", baseline)}; ${
        describeFootprint("after", after)
      }`
    )
    expect(latencies.failures).toEqual([])
    expect(latencies.max).toBeLessThan(HELLO_GATE_MS)
    expect(after.fds).toBeLessThanOrEqual(baseline.fds)
    expect(after.rssKiB).toBeLessThanOrEqual(rssLimitKiB(baseline))
  })
})
