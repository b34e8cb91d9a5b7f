import * as net from "node:net"
import * as C from "../../../src/programs/cp/commands.js"
import type { Target } from "./hostileScenario.js"

export interface FloodShape {
  /** Connections that connect and say nothing. */
  readonly idle: number
  /** Connections that send the start of a ClientHello and never the rest. */
  readonly slowTls: number
  /** Loopback source addresses the connections are spread over, like that many attacking hosts. */
  readonly sources: number
  /** A connection the listener drops is opened again after this long: the attacker holds its count. */
  readonly reopenAfterMs: number
}

/** A TLS record header announcing a 512-byte ClientHello, and its first bytes: the listener waits for the rest. */
const CLIENT_HELLO_START = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])

/**
 * Holds `idle + slowTls` connections that never finish a handshake against `port`, reopening each
 * one the listener drops, until stopped.
 */
export const holdHandshakes = (port: number, shape: FloodShape) => {
  let stopped = false
  let dropped = 0
  let connected = 0
  const open = new Set<net.Socket>()
  const timers = new Set<NodeJS.Timeout>()

  const hold = (index: number) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: `127.0.4.${1 + (index % shape.sources)}` })
    open.add(socket)
    socket.resume()
    socket.on("error", () => undefined)
    socket.on("connect", () => {
      connected++
      if (index >= shape.idle) socket.write(CLIENT_HELLO_START)
    })
    socket.on("close", () => {
      open.delete(socket)
      if (stopped) return
      dropped++
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (!stopped) hold(index)
      }, shape.reopenAfterMs)
      timers.add(timer)
    })
  }
  for (let i = 0; i < shape.idle + shape.slowTls; i++) hold(i)

  return {
    /** Connections the listener dropped so far (each was opened again). */
    dropped: () => dropped,
    connected: () => connected,
    stop: () => {
      stopped = true
      for (const timer of timers) clearTimeout(timer)
      for (const socket of open) socket.destroy()
    }
  }
}

/** One probe of the control plane: a fresh connection and Session, and a Hello on it; its round trip in ms. */
const freshHello = async (target: Target, id: string): Promise<number> => {
  const started = performance.now()
  const session = await target.session()
  try {
    const reply = await session.request(C.hello(id), 20_000)
    if (reply.payload?.$case !== "helloAck") throw new Error(`${id}: ${JSON.stringify(reply)}`)
    return performance.now() - started
  } finally {
    session.close()
    await session.ended
  }
}

export interface Latencies {
  readonly count: number
  readonly failures: ReadonlyArray<string>
  readonly p50: number
  readonly p95: number
  readonly max: number
}

const summarize = (samples: ReadonlyArray<number>, failures: ReadonlyArray<string>): Latencies => {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN)
  return { count: samples.length, failures, p50: at(0.5), p95: at(0.95), max: Math.round(sorted.at(-1) ?? NaN) }
}

/**
 * The CP dialling in afresh every `everyMs` for `durationMs` (connect, TLS, Session, Hello), one
 * probe at a time; what each round trip took, and every failure.
 */
export const probeControlPlane = async (target: Target, durationMs: number, everyMs: number) => {
  const samples: Array<number> = []
  const failures: Array<string> = []
  const end = Date.now() + durationMs
  for (let i = 0; Date.now() < end; i++) {
    try {
      samples.push(await freshHello(target, `probe-${i}`))
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e))
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  return summarize(samples, failures)
}
