import { Duration } from "effect"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DEFAULT_LISTENER_LIMITS } from "../../src/layers/listener/ListenerLive.js"
import * as C from "../../src/programs/cp/commands.js"
import type { ListenerRig } from "../support/listenerRig.js"
import { startListenerRig } from "../support/listenerRig.js"
import { waitFor } from "../support/wait.js"

/*
 * Connections that never finish their handshake, from a few source addresses (all of 127/8 is
 * loopback): the listener keeps at most 8 per source and 64 in all, dropping the oldest of the
 * busiest source, drops a silent peer after 5 s, and the control plane (from 127.0.0.1) gets in
 * throughout. Refusals get at most 20 lines per source and a summary per window.
 */

const { maxPending, maxPendingPerSource } = DEFAULT_LISTENER_LIMITS
const SUMMARY_MS = 1_000

let rig: ListenerRig
beforeAll(async () => {
  rig = await startListenerRig({ limits: { summaryInterval: Duration.millis(SUMMARY_MS) } })
})
afterAll(async () => {
  await rig.close()
})

interface Held {
  readonly socket: net.Socket
  readonly localPort: number
  closed: boolean
}

/** An idle TCP connection from `from`, once connected; `closed` turns true when the listener drops it. */
const idle = (from: string) =>
  new Promise<Held>((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port: rig.port, localAddress: from })
    socket.resume()
    socket.once("error", reject)
    socket.once("connect", () => {
      const held: Held = { socket, localPort: socket.localPort ?? 0, closed: false }
      socket.on("error", () => undefined)
      socket.on("close", () => (held.closed = true))
      resolve(held)
    })
  })

/** Opens `count` idle connections from `from` one after the other, so the listener sees them in that order. */
const holdInOrder = async (from: string, count: number) => {
  const held: Array<Held> = []
  for (let i = 0; i < count; i++) held.push(await idle(from))
  return held
}

const cpHello = async (id: string) => {
  const s = rig.session()
  const reply = await s.request(C.hello(id))
  s.close()
  await s.ended
  return reply.payload?.$case
}

const shedFrom = (from: string) =>
  rig.logs.events("listener_peer_rejected").filter((e) =>
    e.reason === "shed" && String(e.remote_address).startsWith(`${from}:`)
  )

/** `count` connections from `from` that send a few bytes that are not TLS: each is refused at once (protocol). */
const refusedFrom = (from: string, count: number, port = rig.port) =>
  Promise.all(Array.from({ length: count }, () =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress: from }, () =>
        socket.end("GET / HTTP/1.1\r\n\r\n"))
      socket.resume()
      socket.on("error", () =>
        undefined)
      socket.on("close", () => resolve())
    })))

const release = (held: ReadonlyArray<Held>) => {
  for (const h of held) h.socket.destroy()
}

describe("unauthenticated connections are bounded", () => {
  it(`one source keeps at most ${maxPendingPerSource} handshakes: its oldest are shed, the CP is served`, async () => {
    const from = "127.0.0.2"
    const held = await holdInOrder(from, maxPendingPerSource + 12)
    await waitFor(() => held.filter((h) => h.closed).length === 12, 10_000, "12 connections shed")
    expect(held.map((h) => h.closed)).toEqual(held.map((_, i) => i < 12))
    expect(await cpHello("per-source")).toBe("helloAck")
    await waitFor(() => shedFrom(from).length === 12, 5_000, "12 shed refusals logged")
    expect(shedFrom(from).map((e) => e.remote_address).sort()).toEqual(
      held.slice(0, 12).map((h) => `${from}:${h.localPort}`).sort()
    )
    release(held)
  })

  it(`${maxPending} in flight from all sources: the busiest source is shed, a CP handshake never is`, async () => {
    const sources = Array.from({ length: 10 }, (_, i) => `127.0.1.${i + 1}`)
    // 7 each on 9 sources (63), then 8 from a 10th: past 64, each arrival sheds the oldest
    // connection of the source holding the most (ties: the older one), so sources 1-6 lose one
    // each, and the 10th, once it holds 8, its own oldest.
    const bySource: Array<Array<Held>> = []
    for (const from of sources.slice(0, 9)) bySource.push(await holdInOrder(from, 7))
    bySource.push(await holdInOrder(sources[9]!, 8))
    const held = bySource.flat()
    await waitFor(() => held.filter((h) => h.closed).length === 7, 10_000, "7 shed")
    const shedIndex = bySource.map((hs) => hs.map((h) => h.closed).indexOf(true))
    release(held)
    expect(shedIndex).toEqual([0, 0, 0, 0, 0, 0, -1, -1, -1, 0])
    expect(held.filter((h) => !h.closed)).toHaveLength(maxPending)
    // With the table full, the CP's own handshake makes room and is not shed by the next arrivals.
    const cp = rig.session()
    const more = holdInOrder("127.0.2.1", 8)
    expect((await cp.request(C.hello("global"))).payload?.$case).toBe("helloAck")
    cp.close()
    await cp.ended
    release([...held, ...await more])
  })

  it("a silent peer is dropped after the 5 s handshake deadline (was 10 s)", async () => {
    const started = Date.now()
    const [silent] = await holdInOrder("127.0.0.4", 1)
    await waitFor(() => silent!.closed, 15_000, "the silent peer dropped")
    const waited = Date.now() - started
    // The timer cannot fire early; late only by the event loop's delay on a loaded machine (seen up to
    // about 1 s), so the upper bound only has to tell the deadline from the old 10 s.
    expect(waited).toBeGreaterThanOrEqual(DEFAULT_LISTENER_LIMITS.handshakeTimeoutMs - 100)
    expect(waited).toBeLessThan(9_500)
    await waitFor(
      () =>
        rig.logs.events("listener_peer_rejected").some((e) =>
          e.reason === "handshake_timeout" && e.remote_address === `127.0.0.4:${silent!.localPort}`
        ),
      5_000,
      "handshake_timeout logged"
    )
  }, 20_000)

  it("refusals are summed up at the end of each window", async () => {
    const before = rig.logs.events("listener_refusals_summary").length
    await refusedFrom("127.0.0.6", 1)
    await waitFor(
      () =>
        rig.logs.events("listener_refusals_summary").slice(before).some((e) =>
          e.sources !== undefined &&
          Object.keys(e.sources as object).includes("127.0.0.6")
        ),
      3 * SUMMARY_MS + 10_000,
      "a summary naming 127.0.0.6"
    )
  }, 30_000)

  it("a flood of refusals from one source writes 20 lines; the summary counts them all", async () => {
    const own = await startListenerRig()
    const from = "127.0.0.5"
    const flood = 300
    for (let i = 0; i < flood; i += 30) await refusedFrom(from, 30, own.port)
    const s = own.session()
    expect((await s.request(C.hello("after-flood"))).payload?.$case).toBe("helloAck")
    // The window is a minute: closing the listener reports the refusals it has not summed up yet.
    await own.close()
    expect(own.logs.events("listener_peer_rejected")).toHaveLength(DEFAULT_LISTENER_LIMITS.linesPerSource)
    expect(own.logs.events("listener_refusals_summary")).toEqual([
      expect.objectContaining({
        level: "warn",
        count: flood,
        suppressed: flood - DEFAULT_LISTENER_LIMITS.linesPerSource,
        sources: { [from]: flood },
        other_sources: 0,
        distinct_sources: 1,
        reasons: { protocol: flood }
      })
    ])
    console.log(
      `refusal flood: ${flood} refused connections from one source wrote ${
        own.logs.events("listener_peer_rejected").length
      } listener_peer_rejected lines and ${own.logs.events("listener_refusals_summary").length} summary line`
    )
  }, 60_000)
})
