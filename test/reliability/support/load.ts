import { expect } from "vitest"
import type { Response } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { DEFAULT_LISTENER_LIMITS } from "../../../src/layers/listener/ListenerLive.js"
import * as C from "../../../src/programs/cp/commands.js"
import type { CpSession } from "../../../src/programs/cp/cpClient.js"
import { outputOf } from "../../../src/programs/cp/cpClient.js"
import type { Target } from "./hostileScenario.js"

/*
 * Mixed CP traffic for the load and soak tests: every exchange checks its own answer, so "every
 * command answered" is checked one by one, and a wrong or missing reply fails with its id.
 */

const done = (replies: ReadonlyArray<Response>) => replies.at(-1)?.payload

/** One exchange of each kind: send, await the answer, check it. `id` is unique in its Session. */
const EXCHANGES: ReadonlyArray<(s: CpSession, id: string) => Promise<void>> = [
  async (s, id) => {
    expect((await s.request(C.hello(id))).payload?.$case, id).toBe("helloAck")
  },
  async (s, id) => {
    s.send(C.shell(id, [C.stage(["echo", id])]))
    const replies = await s.collectUntilTerminal(id)
    expect(outputOf(replies).toString(), id).toBe(`${id}\n`)
    expect(done(replies), id).toEqual({ $case: "done", value: { finalExitCode: 0 } })
  },
  async (s, id) => {
    s.send(C.shell(id, [C.stage(["cat"]), C.stage(["wc", "-c"])], { initialStdin: Buffer.from("12345") }))
    s.send(C.stdin(id, "678"))
    s.send(C.closeStdin(id))
    const replies = await s.collectUntilTerminal(id)
    expect(outputOf(replies).toString().trim(), id).toBe("8")
    expect(done(replies), id).toEqual({ $case: "done", value: { finalExitCode: 0 } })
  },
  async (s, id) => {
    s.send(C.sh(id, "exit 7"))
    expect(done(await s.collectUntilTerminal(id)), id).toEqual({ $case: "done", value: { finalExitCode: 7 } })
  },
  async (s, id) => {
    s.send(C.shell(id, [C.stage(["sleep", "100"])]))
    expect((await s.next(id)).payload?.$case, id).toBe("started")
    s.send(C.signal(id, 15))
    const replies = await s.collectUntilTerminal(id)
    expect(replies.filter((r) => r.payload?.$case === "stageExit").map((r) => r.payload?.value), id).toEqual([
      { stageIndex: 0, exitCode: -1, signo: 15 }
    ])
    expect(done(replies), id).toEqual({ $case: "done", value: { finalExitCode: -1 } })
  },
  async (s, id) => {
    const reply = await s.request(C.shell(id, []))
    expect(reply.payload, id).toMatchObject({ $case: "error", value: { code: ErrorCode.ERROR_CODE_INVALID_REQUEST } })
  },
  async (s, id) => {
    const reply = await s.request(C.stdin(id, "x"))
    expect(reply.payload, id).toMatchObject({
      $case: "error",
      value: { code: ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID }
    })
  },
  async (s, id) => {
    expect((await s.request(C.hello(id))).payload?.$case, id).toBe("helloAck")
  }
]

/** How many lanes one Session runs at once: commands are pipelined, not one at a time. */
const LANES = 4

/** `commands` exchanges of every kind in turn on `s`, LANES at a time; returns how many were answered. */
export const driveSession = async (s: CpSession, commands: number, prefix: string): Promise<number> => {
  let next = 0
  let answered = 0
  const lane = async () => {
    for (let i = next++; i < commands; i = next++) {
      await EXCHANGES[i % EXCHANGES.length]!(s, `${prefix}-${i}`)
      answered++
    }
  }
  await Promise.all(Array.from({ length: LANES }, lane))
  return answered
}

/**
 * Handshakes one address may have in flight: past the listener's per-source cap it sheds that
 * source's oldest (the real CP dials one Session per container at a time, never 50 at once).
 */
const CONNECTING_AT_ONCE = DEFAULT_LISTENER_LIMITS.maxPendingPerSource

/**
 * `sessions` Sessions at once, `commands` exchanges each, each Session half-closed at the end. They
 * connect at most CONNECTING_AT_ONCE at a time (a Hello round trip says the handshake is over), then
 * all run side by side.
 */
export const sessionsLoad = async (target: Target, sessions: number, commands: number, prefix = "l") => {
  let connecting = 0
  const slot = async () => {
    while (connecting >= CONNECTING_AT_ONCE) await new Promise((r) => setTimeout(r, 5))
    connecting++
  }
  const answered = await Promise.all(
    Array.from({ length: sessions }, async (_, n) => {
      await slot()
      const s = await target.session()
      try {
        expect((await s.request(C.hello(`${prefix}${n}-connected`))).payload?.$case).toBe("helloAck")
      } finally {
        connecting--
      }
      const count = await driveSession(s, commands, `${prefix}${n}`)
      s.close()
      const end = await s.ended
      expect(end.code).toBe(0)
      return count
    })
  )
  return answered.reduce((a, b) => a + b, 0)
}

/**
 * `cycles` Sessions each on a new connection (a full TLS handshake): a Hello round trip, then the
 * end, half by half-close and half by cancel; `concurrency` at a time.
 */
export const connectCycles = async (target: Target, cycles: number, concurrency: number) => {
  let next = 0
  const worker = async () => {
    for (let i = next++; i < cycles; i = next++) {
      const s = await target.session()
      expect((await s.request(C.hello(`cycle-${i}`))).payload?.$case).toBe("helloAck")
      if (i % 2 === 0) s.close()
      else s.cancel()
      await s.ended
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return cycles
}
