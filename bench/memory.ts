import { DEFAULT_LISTENER_LIMITS } from "../src/layers/listener/ListenerLive.js"
import * as C from "../src/programs/cp/commands.js"
import type { ClientCredentials } from "../src/programs/cp/cpClient.js"
import { connect, CpSession } from "../src/programs/cp/cpClient.js"
import { cpCredentials } from "../test/support/daemonInNamespace.js"
import type { Bench } from "./harness.js"
import { measure, memoryOf, sleep } from "./harness.js"
import { deployment, namespaced, startDaemon } from "./rigs.js"

/** A bare Node process that stays up doing nothing: the baseline. */
const IDLE_NODE = "setInterval(() => {}, 1 << 30)"
/** Left to both processes before a reading, so start-up garbage and lazy work are behind them. */
const SETTLE_MS = 2_000
/**
 * CP connections at a time while Sessions come and go: the listener's per-source bound on handshakes in
 * flight, all from 127.0.0.1 here; one more and it sheds the oldest handshake, as it must against a flood.
 */
const WORKERS = DEFAULT_LISTENER_LIMITS.maxPendingPerSource

/** `count` Sessions, each on its own connection as a reconnecting CP makes it: open, Hello, half-close, gone. */
export const churnSessions = async (address: string, credentials: ClientCredentials, count: number) => {
  let next = 0
  const worker = async () => {
    while (next < count) {
      const id = `churn-${next++}`
      const client = connect(address, credentials)
      try {
        const session = CpSession.open(client)
        const reply = await session.request(C.hello(id))
        if (reply.payload?.$case !== "helloAck") throw new Error(`Hello ${id} answered ${reply.payload?.$case}`)
        session.close()
        await session.ended
      } finally {
        client.close()
      }
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, worker))
}

export const memory: Bench = {
  name: "memory",
  title: "Idle memory: RSS after boot and after Sessions came and went",
  run: async (ctx) => {
    const sessions = ctx.count(1_000, 200)
    const fixture = await deployment(ctx)
    const bare = namespaced(ctx, [process.execPath, "-e", IDLE_NODE])
    const run = await startDaemon(ctx, fixture)
    const address = `127.0.0.1:${await run.port()}`
    const [barePid, daemonPid] = [await bare.pid(), await run.ns.pid()]
    await sleep(SETTLE_MS)
    const bareRss = memoryOf(barePid).rss
    const afterBoot = memoryOf(daemonPid).rss

    const credentials = cpCredentials(fixture.deployment)
    await churnSessions(address, credentials, sessions)
    await sleep(SETTLE_MS)
    const afterChurn = memoryOf(daemonPid).rss
    // A second round tells growth that levels off (heap sizing, compiled code) from a leak.
    await churnSessions(address, credentials, sessions)
    await sleep(SETTLE_MS)
    const afterSecond = memoryOf(daemonPid).rss
    const ended = run.events("session_ended").length
    if (ended !== 2 * sessions) throw new Error(`${ended} session_ended events for ${2 * sessions} Sessions`)
    ctx.log(
      `RSS MiB: bare node ${bareRss.toFixed(1)}, clawkerd after boot ${
        afterBoot.toFixed(1)
      }, after ${sessions} Sessions ${afterChurn.toFixed(1)}, after ${2 * sessions} ${afterSecond.toFixed(1)}`
    )
    const bareNode = { name: "bare idle node", value: bareRss }
    return {
      counts: { sessions, workers: WORKERS, settle_ms: SETTLE_MS },
      measures: [
        measure("RSS after boot", "MiB", afterBoot, {
          baseline: bareNode,
          target: { on: "ratio", op: "<=", limit: 1.5 }
        }),
        measure(`RSS after ${sessions} Sessions`, "MiB", afterChurn, { baseline: bareNode }),
        measure(`growth over ${sessions} Sessions`, "%", (afterChurn / afterBoot - 1) * 100, {
          target: { on: "value", op: "<=", limit: 10 }
        }),
        measure(`growth over the next ${sessions}`, "%", (afterSecond / afterChurn - 1) * 100)
      ],
      notes: [
        `RSS read from /proc after ${SETTLE_MS} ms idle. Each Session has its own mTLS connection (${WORKERS} at a`,
        "time): Hello, HelloAck, half-close, stream end; every one is checked to have ended in clawkerd's log."
      ]
    }
  }
}
