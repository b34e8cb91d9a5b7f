import fc from "fast-check"
import { expect } from "vitest"
import type { Deployment } from "../../../devkit/pki.js"
import type { Response } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { Command, ErrorCode } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { MAX_COMMAND_BYTES } from "../../../src/layers/listener/ListenerLive.js"
import * as C from "../../../src/programs/cp/commands.js"
import type { ClientCredentials, CpSession } from "../../../src/programs/cp/cpClient.js"
import { waitFor } from "../../support/wait.js"
import { fuzzFrame, isMalformed, isMalformedAnswer, unknownPayloads } from "./frames.js"
import type { PeerOutcome } from "./hostile.js"
import {
  garbagePeer,
  hangUpPeer,
  inBatches,
  openRawSession,
  plaintextH2Peer,
  silentPeer,
  tlsPeer,
  wrongCredentials
} from "./hostile.js"

/** A listener under attack: the in-process rig or the daemon in its namespace. */
export interface Target {
  readonly port: number
  readonly address: string
  readonly deployment: Deployment
  /** Log records of one event so far. */
  readonly events: (event: string) => ReadonlyArray<Readonly<Record<string, unknown>>>
  /** A Session of the real control plane. */
  readonly session: () => CpSession | Promise<CpSession>
  /**
   * Whether every refusal gets a line of its own (a rig with the log budgets lifted); the daemon
   * writes them within its budgets only, and counts the rest in its summary lines.
   */
  readonly everyRefusalLogged: boolean
  /** When set, the summary lines account for every refusal of a round within this long after it. */
  readonly summaryWithinMs?: number
}

export interface HostileScale {
  /** Connections that send random bytes, then hang up. */
  readonly garbage: number
  /** Connections dropped before any byte. */
  readonly hangUps: number
  /** Connections that never say anything: dropped by the handshake timeout (10 s), so they cost that long. */
  readonly silent: number
  /** How many times each wrong credential is presented. */
  readonly credentialRounds: number
  readonly plaintextH2: number
  /** Frames for the decoder fuzz, from an authorized peer. */
  readonly fuzzFrames: number
  /** Sessions ended by a Command over the size limit. */
  readonly oversized: number
  /** Commands sent back to back on one Session. */
  readonly flood: number
  /** Hellos sent on a Session whose CP has stopped reading its replies. */
  readonly stalled: number
  /** Hostile connections in flight at once. */
  readonly concurrency: number
}

/** What the scenario did, for the report. */
export interface HostileTally {
  connections: number
  rejectionsLogged: number
  framesFuzzed: number
  malformed: number
  flooded: number
  oversized: number
  goodRoundTrips: number
}

export const cpCredentialsOf = (deployment: Deployment): ClientCredentials => ({
  caPem: deployment.ca.certPem,
  certPem: deployment.cpClient.certPem,
  keyPem: deployment.cpClient.keyPem
})

/** The good CP's pace: a round trip every this many ms (a steady CP, not a second flood). */
const BEAT_MS = 20

/** The good CP: Hello round trips until stopped; any failure is kept for the assertions. */
const heartbeat = async (target: Target) => {
  const session = await target.session()
  let stopped = false
  let count = 0
  const failures: Array<string> = []
  const loop = (async () => {
    while (!stopped) {
      try {
        const reply = await session.request(C.hello(`beat-${count}`), 30_000)
        if (reply.payload?.$case !== "helloAck") failures.push(`beat-${count}: ${JSON.stringify(reply)}`)
        count++
        await new Promise((resolve) => setTimeout(resolve, BEAT_MS))
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e))
        return
      }
    }
  })()
  return {
    beats: () => count,
    stop: async () => {
      stopped = true
      await loop
      session.close()
      await session.ended
      return { count, failures }
    }
  }
}

/** Every peer was refused unserved, with a logged reason and its own address. */
const expectRejected = async (
  target: Target,
  outcomes: ReadonlyArray<PeerOutcome>,
  reasons?: ReadonlyArray<string>
) => {
  expect(outcomes.filter((o) => o.served)).toEqual([])
  const logged = () => new Map(target.events("listener_peer_rejected").map((e) => [e.remote_address, e]))
  const address = (o: PeerOutcome) => `${o.localAddress}:${o.localPort}`
  if (!target.everyRefusalLogged) {
    // Within the log budgets only: the lines there are must name the right reason.
    const seen = logged()
    for (const [i, o] of outcomes.entries()) {
      const event = seen.get(address(o))
      if (event !== undefined && reasons !== undefined) expect(event.reason, address(o)).toBe(reasons[i])
    }
    return
  }
  await waitFor(
    () => {
      const seen = logged()
      return outcomes.every((o) => seen.has(address(o)))
    },
    30_000,
    `a listener_peer_rejected for each of ${outcomes.length} peers`
  ).catch((e: Error) => {
    const seen = logged()
    const missing = outcomes.filter((o) => !seen.has(address(o))).map(address)
    throw new Error(`${e.message}; missing ${missing.length}: ${missing.slice(0, 5).join(", ")}`)
  })
  const seen = logged()
  for (const [i, o] of outcomes.entries()) {
    const event = seen.get(address(o))!
    expect(typeof event.reason === "string" && event.reason.length > 0).toBe(true)
    if (reasons !== undefined) expect(event.reason, address(o)).toBe(reasons[i])
  }
}

/** Random bytes, early hang-ups, every wrong credential and h2c; returns how many connections were made. */
const attackHandshakes = async (target: Target, scale: HostileScale) => {
  const credentials = await wrongCredentials(target.deployment)
  const ca = target.deployment.ca.certPem
  const noise = await inBatches(scale.concurrency, [
    ...Array.from({ length: scale.garbage }, () => () => garbagePeer(target.port)),
    ...Array.from({ length: scale.hangUps }, () => () => hangUpPeer(target.port))
  ])
  await expectRejected(target, noise)
  const presented = Array.from({ length: scale.credentialRounds }, () => credentials).flat()
  const handshakes = await inBatches(scale.concurrency, presented.map((c) => () => tlsPeer(target.port, ca, c.options)))
  await expectRejected(target, handshakes, presented.map((c) => c.reason))
  const h2c = await inBatches(
    scale.concurrency,
    Array.from({ length: scale.plaintextH2 }, () => () => plaintextH2Peer(target.port))
  )
  await expectRejected(target, h2c, h2c.map(() => "protocol"))
  return noise.length + handshakes.length + h2c.length
}

const isError = (r: Response, code: ErrorCode, message: string | RegExp) =>
  r.payload?.$case === "error" && r.payload.value.code === code &&
  (typeof message === "string" ? r.payload.value.message === message : message.test(r.payload.value.message))

/**
 * An authorized peer misbehaving on one Session: fuzzed frames (each malformed one answered with
 * the spec's error, the Session kept), unknown oneof cases, then a flood of Commands each answered
 * exactly once, in order.
 */
const abuseSession = async (target: Target, scale: HostileScale) => {
  const raw = openRawSession(target.address, cpCredentialsOf(target.deployment))
  const s = raw.session
  expect((await s.request(C.hello("abuse-start"))).payload?.$case).toBe("helloAck")

  const frames = fc.sample(fuzzFrame, scale.fuzzFrames)
  for (const frame of frames) raw.sendRaw(frame)
  expect((await s.request(C.hello("fuzz-end"), 60_000)).payload?.$case).toBe("helloAck")
  const malformed = frames.filter(isMalformed).length
  const empty = s.received.filter((r) => r.commandId === "")
  expect(empty.filter(isMalformedAnswer)).toHaveLength(malformed)
  expect(s.received.filter((r) => r.payload?.$case === "error" && r.payload.value.message.startsWith("internal error")))
    .toEqual([])

  for (const { bytes, id } of unknownPayloads("oneof")) {
    raw.sendRaw(bytes)
    expect(isError(await s.next(id), ErrorCode.ERROR_CODE_INVALID_REQUEST, "unknown payload type <nil>")).toBe(true)
  }

  // The flood: answered one for one and in order, whatever the mix.
  const kinds = [
    (i: number) => ({ command: C.hello(`fl-${i}`), answer: (r: Response) => r.payload?.$case === "helloAck" }),
    (i: number) => ({
      command: C.stdin(`fl-${i}`, "x"),
      answer: (r: Response) => isError(r, ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID, /^stdin: /)
    }),
    (i: number) => ({
      command: C.signal(`fl-${i}`, 0),
      answer: (r: Response) => isError(r, ErrorCode.ERROR_CODE_INVALID_REQUEST, /^signal: signo/)
    }),
    (i: number) => ({
      command: C.shell(`fl-${i}`, []),
      answer: (r: Response) => isError(r, ErrorCode.ERROR_CODE_INVALID_REQUEST, "shell: stages must not be empty")
    }),
    (i: number) => ({
      command: C.closeStdin(`fl-${i}`),
      answer: (r: Response) => isError(r, ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID, /^close_stdin: /)
    })
  ]
  const flood = Array.from({ length: scale.flood }, (_, i) => kinds[i % kinds.length]!(i))
  const firstFlood = s.received.length
  for (const { command } of flood) s.send(command)
  await s.next(`fl-${scale.flood - 1}`, 120_000)
  // A fuzzed ShellCommand that ran a real stage may still be answering: only the flood's own ids count.
  const floodIds = new Set(flood.map((f) => f.command.commandId))
  const answers = s.received.slice(firstFlood).filter((r) => floodIds.has(r.commandId))
  expect(answers.map((r) => r.commandId)).toEqual(flood.map((f) => f.command.commandId))
  expect(flood.filter((f, i) => !f.answer(answers[i]!)).map((f) => f.command.commandId)).toEqual([])

  s.close()
  await s.ended
  raw.close()
  return { framesFuzzed: frames.length + unknownPayloads("").length, malformed, flooded: flood.length }
}

/**
 * A CP that sends and stops reading: clawkerd's replies back up (its queue, then HTTP/2 flow
 * control) until it stops reading Commands too, while other Sessions go on. Once the CP reads
 * again every Hello is answered, in order.
 */
const stalledReader = async (target: Target, scale: HostileScale) => {
  const s = await target.session()
  s.call.pause()
  for (let i = 0; i < scale.stalled; i++) s.send(C.hello(`stall-${i}`))
  const other = await target.session()
  expect((await other.request(C.hello("while-stalled"))).payload?.$case).toBe("helloAck")
  other.close()
  await other.ended
  s.call.resume()
  await s.next(`stall-${scale.stalled - 1}`, 120_000)
  expect(s.received.map((r) => r.commandId)).toEqual(Array.from({ length: scale.stalled }, (_, i) => `stall-${i}`))
  s.close()
  await s.ended
}

/** The largest Stdin whose Command encodes to exactly `size` bytes. */
const stdinOfSize = (id: string, size: number) => {
  let data = size
  for (;;) {
    const command = C.stdin(id, Buffer.alloc(data))
    const over = Command.encode(command).finish().length - size
    if (over === 0) return command
    data -= over
  }
}

/**
 * At the limit a Command is served; one byte over, grpc-js ends the Session with RESOURCE_EXHAUSTED,
 * and the daemon logs why (session_rpc_failed).
 */
const oversize = async (target: Target, scale: HostileScale) => {
  const atLimit = await target.session()
  const fits = await atLimit.request(stdinOfSize("fits", MAX_COMMAND_BYTES))
  expect(isError(fits, ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID, /^stdin: /)).toBe(true)
  atLimit.close()
  await atLimit.ended
  for (let i = 0; i < scale.oversized; i++) {
    const before = target.events("session_rpc_failed").length
    const s = await target.session()
    s.send(stdinOfSize(`big-${i}`, MAX_COMMAND_BYTES + 1))
    const end = await s.ended
    expect(end.code).toBe(8)
    await waitFor(() => target.events("session_rpc_failed").length > before, 10_000, "session_rpc_failed logged")
    expect(target.events("session_rpc_failed").at(-1)).toMatchObject({
      code: "RESOURCE_EXHAUSTED",
      details: expect.stringMatching(/larger than max/)
    })
  }
}

/**
 * The whole hostile-network mix against `target` while a good CP keeps doing Hello round trips;
 * every check is an expect, so a failure names what broke.
 */
/** Refusals counted by the summary lines after the first `from` of them. */
const summarized = (target: Target, from: number) =>
  target.events("listener_refusals_summary").slice(from).reduce((n, e) => n + Number(e.count), 0)

export const runHostileNetwork = async (target: Target, scale: HostileScale): Promise<HostileTally> => {
  const rejectedBefore = target.events("listener_peer_rejected").length
  const summariesBefore = target.events("listener_refusals_summary").length
  const good = await heartbeat(target)
  const silent = Promise.all(Array.from({ length: scale.silent }, () => silentPeer(target.port)))
  const connections = await attackHandshakes(target, scale)
  const abuse = await abuseSession(target, scale)
  await stalledReader(target, scale)
  await oversize(target, scale)
  const dropped = await silent
  await expectRejected(target, dropped, dropped.map(() => "handshake_timeout"))
  // The good CP must have got through during the attack, not only before it.
  const beats = good.beats()
  await waitFor(() => good.beats() > beats, 30_000, "a Hello round trip after the attack")
  const { count, failures } = await good.stop()
  expect(failures).toEqual([])
  const refused = connections + dropped.length
  if (target.summaryWithinMs !== undefined) {
    await waitFor(
      () => summarized(target, summariesBefore) >= refused,
      target.summaryWithinMs,
      `summary lines counting ${refused} refusals`
    )
  }
  return {
    connections: refused,
    rejectionsLogged: target.events("listener_peer_rejected").length - rejectedBefore,
    framesFuzzed: abuse.framesFuzzed,
    malformed: abuse.malformed,
    flooded: abuse.flooded,
    oversized: scale.oversized,
    goodRoundTrips: count
  }
}
