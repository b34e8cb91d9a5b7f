import { spawn } from "node:child_process"
import * as C from "../src/programs/cp/commands.js"
import type { CpSession } from "../src/programs/cp/cpClient.js"
import type { Bench } from "./harness.js"
import { measure, percentile } from "./harness.js"
import { deployment, startDaemon } from "./rigs.js"

/** Round trips run before the timed ones: connection, JIT and caches warm on both sides. */
const WARM_UP = 50

/** Round trips of `once`, one after another, in ms. */
const timed = async (rounds: number, once: (i: number) => Promise<void>) => {
  const times: Array<number> = []
  for (let i = 0; i < rounds; i++) {
    const start = performance.now()
    await once(i)
    times.push(performance.now() - start)
  }
  return times
}

const hello = (session: CpSession) => async (i: number) => {
  const reply = await session.request(C.hello(`h${i}`))
  if (reply.payload?.$case !== "helloAck") throw new Error(`Hello answered ${reply.payload?.$case}`)
}

/** ShellCommand{true}: sent until its Done{0} arrived (Started and StageExit come before it). */
const shellTrue = (session: CpSession, prefix: string) => async (i: number) => {
  const id = `${prefix}${i}`
  session.send(C.shell(id, [C.stage(["true"])]))
  const replies = await session.collectUntilTerminal(id)
  const last = replies.at(-1)?.payload
  if (last?.$case !== "done" || last.value.finalExitCode !== 0) throw new Error(`${id} ended with ${last?.$case}`)
}

/** The same work without clawkerd: `true` spawned by this process, until its pipes closed and it was reaped. */
const spawnTrue = () =>
  new Promise<void>((resolve, reject) => {
    const child = spawn("true")
    child.once("error", reject)
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`true exited ${code}`))))
  })

export const latency: Bench = {
  name: "latency",
  title: "Session latency: Hello and ShellCommand{true} round trips",
  run: async (ctx) => {
    const hellos = ctx.count(10_000, 1_000)
    const shells = ctx.count(1_000, 100)
    const run = await startDaemon(ctx, await deployment(ctx))
    const session = await run.session()
    await timed(WARM_UP, hello(session))
    const helloTimes = await timed(hellos, hello(session))
    await timed(WARM_UP, shellTrue(session, "warm"))
    await timed(WARM_UP, spawnTrue)
    // Interleaved in blocks, so load on the shared machine falls on both alike.
    const shellTimes: Array<number> = []
    const rawTimes: Array<number> = []
    const block = 50
    for (let done = 0; done < shells; done += block) {
      const n = Math.min(block, shells - done)
      shellTimes.push(...await timed(n, (i) => shellTrue(session, "true")(done + i)))
      rawTimes.push(...await timed(n, spawnTrue))
    }
    session.close()
    await session.ended
    const raw = (p: number) => ({ name: "spawn('true') in the harness", value: percentile(rawTimes, p) })
    return {
      counts: { hellos, shell_commands: shells, raw_spawns: shells, warm_up: WARM_UP },
      measures: [
        measure("Hello round trip p50", "ms", percentile(helloTimes, 50), {
          target: { on: "value", op: "<=", limit: 1 }
        }),
        measure("Hello round trip p99", "ms", percentile(helloTimes, 99)),
        measure("ShellCommand{true} p50", "ms", percentile(shellTimes, 50), {
          baseline: raw(50),
          target: { on: "ratio", op: "<=", limit: 2 }
        }),
        measure("ShellCommand{true} p99", "ms", percentile(shellTimes, 99), { baseline: raw(99) })
      ],
      notes: [
        "One Session over one mTLS connection, one command at a time. ShellCommand is timed from send to its Done",
        "(after Started and StageExit); the baseline spawns `true` with pipes from the harness until 'close'."
      ]
    }
  }
}
