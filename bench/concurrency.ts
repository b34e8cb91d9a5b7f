import * as C from "../src/programs/cp/commands.js"
import { connect, CpSession, outputOf } from "../src/programs/cp/cpClient.js"
import { cpCredentials } from "../test/support/daemonInNamespace.js"
import type { Bench } from "./harness.js"
import { measure, memoryOf } from "./harness.js"
import { deployment, namespaced, startDaemon } from "./rigs.js"

const SESSIONS = 10

/**
 * The baseline: a bare Node process that spawns the same `echo`s all at once (child_process, pipes),
 * checks each output, and prints its time and its peak RSS (MiB) as JSON.
 */
const RAW_SPAWNS = `
const { spawn } = require("node:child_process")
const n = Number(process.argv[1])
const start = performance.now()
let left = n, ok = 0
for (let i = 0; i < n; i++) {
  const child = spawn("echo", ["raw-" + i])
  let out = ""
  child.stdout.on("data", (d) => (out += d))
  child.on("close", (code) => {
    if (code === 0 && out === "raw-" + i + "\\n") ok++
    if (--left === 0) {
      const ms = performance.now() - start
      console.log(JSON.stringify({ ms, ok, peak: process.resourceUsage().maxRSS / 1024 }))
    }
  })
}`

/**
 * How many of `ids` completed exactly once in `session`: one Started, output exactly "<id>\n", one
 * StageExit, one Done{0}, no Error. Read after the Session ended, so a late duplicate would count.
 */
const completedOnce = (session: CpSession, ids: ReadonlyArray<string>) =>
  ids.filter((id) => {
    const replies = session.received.filter((r) => r.commandId === id)
    const count = (kind: string) => replies.filter((r) => r.payload?.$case === kind).length
    const done = replies.find((r) => r.payload?.$case === "done")?.payload
    return count("started") === 1 && count("stageExit") === 1 && count("done") === 1 && count("error") === 0 &&
      done?.$case === "done" && done.value.finalExitCode === 0 && outputOf(replies).toString() === `${id}\n`
  }).length

export const concurrency: Bench = {
  name: "concurrency",
  title: "Concurrency: ShellCommands all at once over 10 Sessions",
  run: async (ctx) => {
    const total = ctx.count(1_000, 200)
    const perSession = total / SESSIONS
    const fixture = await deployment(ctx)
    const run = await startDaemon(ctx, fixture)
    const address = `127.0.0.1:${await run.port()}`
    const pid = await run.ns.pid()
    const clients = Array.from({ length: SESSIONS }, () => connect(address, cpCredentials(fixture.deployment)))
    ctx.defer(() => clients.forEach((c) => c.close()))
    // One connection at a time (a Session's call is what dials): ten handshakes at once from one address
    // can pass the listener's per-source bound of handshakes in flight on a loaded machine, which sheds the
    // oldest (a run failed so); connecting is not what is timed.
    const sessions: Array<CpSession> = []
    for (const [i, client] of clients.entries()) {
      const session = CpSession.open(client)
      sessions.push(session)
      await session.request(C.hello(`warm-${i}`))
    }
    const idle = memoryOf(pid).rss

    const ids = sessions.map((_, k) => Array.from({ length: perSession }, (_, j) => `cmd-${k}-${j}`))
    const start = performance.now()
    sessions.forEach((s, k) => ids[k]!.forEach((id) => s.send(C.shell(id, [C.stage(["echo", id])]))))
    await Promise.all(sessions.flatMap((s, k) => ids[k]!.map((id) => s.collectUntilTerminal(id, 300_000))))
    const ms = performance.now() - start
    const peak = memoryOf(pid).peak
    sessions.forEach((s) => s.close())
    await Promise.all(sessions.map((s) => s.ended))
    const once = sessions.reduce((n, s, k) => n + completedOnce(s, ids[k]!), 0)

    const bare = namespaced(ctx, [process.execPath, "-e", RAW_SPAWNS, String(total)])
    const raw = JSON.parse(await bare.line(/^\{/)) as { ms: number; ok: number; peak: number }
    if (raw.ok !== total) throw new Error(`the baseline saw ${raw.ok} of ${total} echos complete`)
    ctx.log(
      `clawkerd ${ms.toFixed(0)} ms, RSS idle ${idle.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB; bare node ${
        raw.ms.toFixed(0)
      } ms, peak ${raw.peak.toFixed(1)} MiB`
    )
    const baseline = (value: number) => ({ name: "bare node spawning them", value })
    return {
      counts: { commands: total, sessions: SESSIONS },
      measures: [
        measure("completed exactly once", "commands", once, { target: { on: "value", op: ">=", limit: total } }),
        measure("total time", "ms", ms, { baseline: baseline(raw.ms) }),
        measure("peak RSS", "MiB", peak, { baseline: baseline(raw.peak) })
      ],
      notes: [
        `Each Session sends its ${perSession} ShellCommands \`echo <id>\` back to back; timed until the last Done.`,
        "Exactly once: one Started, StageExit and Done{0} each, output exactly the id, checked after the Sessions",
        "ended. Peak RSS is clawkerd's VmHWM; the baseline, a bare Node process spawning the same echos at once,",
        "reports its own time and maxRSS."
      ]
    }
  }
}
