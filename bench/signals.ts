import type { Namespaced } from "../test/support/pidns.js"
import type { Bench, Measure } from "./harness.js"
import { measure, percentile, sleep, within } from "./harness.js"
import { inits } from "./inits.js"
import { endNamespace } from "./rigs.js"

/** The user CMD: a Node process that counts the SIGUSR1s it gets and prints each count. */
const COUNTER = `
let n = 0
process.on("SIGUSR1", () => process.stdout.write("usr1 " + ++n + "\\n"))
process.on("SIGTERM", () => process.exit(0))
process.stdout.write("counter-ready\\n")
setInterval(() => {}, 1 << 30)`

/** A signal not counted within this long is lost. */
const LOST_AFTER_MS = 1_000
/** A burst is over once no count came for this long. */
const QUIET_MS = 500

const counted = (ns: Namespaced) => ns.lines().filter((l) => /^usr1 \d+$/.test(l)).length

/** One SIGUSR1 to PID 1, awaited until the CMD counted it: ms, or undefined when it was lost. */
const oneSignal = async (ns: Namespaced): Promise<number | undefined> => {
  const pid = await ns.pid()
  const expected = `usr1 ${counted(ns) + 1}`
  const seen = ns.line((l) => l === expected)
  const start = performance.now()
  process.kill(pid, "SIGUSR1")
  return within(seen, LOST_AFTER_MS, "SIGUSR1").then(() => performance.now() - start, () => undefined)
}

/** All at once, as fast as kill(2) goes: how many the CMD counted once they stopped coming. */
const burst = async (ns: Namespaced, signals: number) => {
  const pid = await ns.pid()
  const before = counted(ns)
  for (let i = 0; i < signals; i++) process.kill(pid, "SIGUSR1")
  let last = counted(ns)
  let changed = performance.now()
  while (performance.now() - changed < QUIET_MS) {
    await sleep(10)
    const now = counted(ns)
    if (now !== last) [last, changed] = [now, performance.now()]
  }
  return last - before
}

export const signals: Bench = {
  name: "signals",
  title: "Signal forwarding: SIGUSR1 to PID 1, counted by the user CMD",
  run: async (ctx) => {
    const count = ctx.count(1_000, 200)
    const started = []
    for (const init of inits(ctx)) {
      const ns = await init.start([process.execPath, "-e", COUNTER])
      await within(ns.line(/^counter-ready$/), 30_000, `${init.name}: the counter`)
      started.push({ name: init.name, ns, each: [] as Array<number> })
    }
    // Paced, interleaved: one signal to each init in turn, so load on the shared machine hits all alike.
    for (let i = 0; i < count; i++) {
      for (const run of started) {
        const ms = await oneSignal(run.ns)
        if (ms !== undefined) run.each.push(ms)
      }
    }
    const results = []
    for (const { each, name, ns } of started) {
      const one = { delivered: each.length, ms: each.reduce((a, b) => a + b, 0) }
      const many = await burst(ns, count)
      await endNamespace(ns)
      ctx.log(
        `${name}: paced ${one.delivered}/${count} in ${one.ms.toFixed(0)} ms (p50 ${
          percentile(each, 50).toFixed(3)
        } ms, p99 ${percentile(each, 99).toFixed(3)} ms); burst ${many}/${count} counted`
      )
      results.push({ name, one, many })
    }
    const [own, ...baselines] = results
    if (own === undefined) throw new Error("clawkerd did not run")
    const measures: Array<Measure> = []
    for (const base of baselines) {
      const tini = base.name === "tini"
      measures.push(
        measure(`paced: delivered (vs ${base.name})`, "signals", own.one.delivered, {
          baseline: { name: base.name, value: base.one.delivered },
          ...(tini ? { target: { on: "ratio", op: ">=", limit: 1 } as const } : {})
        }),
        measure(`paced: total time (vs ${base.name})`, "ms", own.one.ms, {
          baseline: { name: base.name, value: base.one.ms },
          ...(tini ? { target: { on: "ratio", op: "<=", limit: 2 } as const } : {})
        }),
        measure(`burst: counted (vs ${base.name})`, "signals", own.many, {
          baseline: { name: base.name, value: base.many }
        })
      )
    }
    if (baselines.length === 0) measures.push(measure("paced: total time", "ms", own.one.ms))
    return {
      counts: { signals: count, lost_after_ms: LOST_AFTER_MS, quiet_ms: QUIET_MS },
      measures,
      notes: [
        "Paced: one SIGUSR1 to PID 1 at a time, the next once the CMD (a Node process) printed its count, taking",
        "turns between the inits; time is the sum of those round trips, a signal not counted within",
        `${LOST_AFTER_MS} ms is lost. Burst: all sent at`,
        "once with kill(2); the kernel merges a pending SIGUSR1 with the next, at PID 1 and at the CMD, so fewer",
        "arrive under any init: informational."
      ]
    }
  }
}
