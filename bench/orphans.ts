import { descendantsOf, readProcTable } from "../src/layers/reaper/procTable.js"
import type { Namespaced } from "../test/support/pidns.js"
import type { Bench, Measure } from "./harness.js"
import { measure, median, sleep, within } from "./harness.js"
import { inits } from "./inits.js"
import { endNamespace } from "./rigs.js"

/**
 * The user CMD: `count` times `sh -c 'true &'`, each shell exiting at once and leaving its `true` (or
 * its zombie) to PID 1, between two wall-clock stamps (ns); then it stays up, so the namespace does.
 */
const stormCmd = (count: number) => [
  "sh",
  "-c",
  [
    "echo \"storm-start $(date +%s%N)\"",
    "i=0",
    `while [ $i -lt ${count} ]; do sh -c 'true &'; i=$((i + 1)); done`,
    "echo \"storm-done $(date +%s%N)\"",
    "exec sleep 1000000"
  ].join("\n")
]

/** How often the harness looks at the namespace's processes once the storm is over. */
const POLL_MS = 2
const nowWallMs = () => performance.timeOrigin + performance.now()
const stamp = async (ns: Namespaced, name: string) =>
  Number((await within(ns.line(new RegExp(`^${name} \\d+$`)), 600_000, name)).split(" ")[1]) / 1e6

const zombiesBelow = (pid: number) => descendantsOf(pid, readProcTable()).filter((p) => p.state === "Z").length

/** Storm start → no zombie left in the namespace, and storm end → no zombie left (both ms), and the backlog. */
const storm = async (ns: Namespaced) => {
  const start = await stamp(ns, "storm-start")
  const done = await stamp(ns, "storm-done")
  const init = await ns.pid()
  const backlog = zombiesBelow(init)
  while (zombiesBelow(init) > 0) await sleep(POLL_MS)
  const clear = nowWallMs()
  return { total: clear - start, drain: clear - done, backlog }
}

export const orphans: Bench = {
  name: "orphans",
  title: "Orphan storm: the user CMD orphans short-lived grandchildren",
  run: async (ctx) => {
    const count = ctx.count(5_000, 1_000)
    const rounds = ctx.count(3, 1)
    const contenders = inits(ctx)
    const runs = contenders.map(() => [] as Array<Awaited<ReturnType<typeof storm>>>)
    // Rounds take turns between the inits, so load on the shared machine hits all alike.
    for (let round = 0; round < rounds; round++) {
      for (const [i, init] of contenders.entries()) {
        const ns = await init.start(stormCmd(count))
        const r = await storm(ns)
        await endNamespace(ns)
        ctx.log(
          `${init.name}: ${r.total.toFixed(0)} ms until no zombie, ${
            r.drain.toFixed(1)
          } ms after the last orphan (${r.backlog} zombies then)`
        )
        runs[i]!.push(r)
      }
    }
    const results = contenders.map((init, i) => ({
      name: init.name,
      total: median(runs[i]!.map((r) => r.total)),
      drain: median(runs[i]!.map((r) => r.drain))
    }))
    const [own, ...baselines] = results
    if (own === undefined) throw new Error("clawkerd did not run")
    const measures: Array<Measure> = baselines.flatMap((base) => [
      measure(`storm until no zombie (vs ${base.name})`, "ms", own.total, {
        baseline: { name: base.name, value: base.total },
        ...(base.name === "tini" ? { target: { on: "ratio", op: "<=", limit: 1.5 } as const } : {})
      }),
      measure(`after the last orphan (vs ${base.name})`, "ms", own.drain, {
        baseline: { name: base.name, value: base.drain }
      })
    ])
    if (baselines.length === 0) measures.push(measure("storm until no zombie", "ms", own.total))
    return {
      counts: { orphans: count, rounds, poll_ms: POLL_MS },
      measures,
      notes: [
        `The same CMD as PID 1's child: ${count} × sh -c 'true &', timed by the CMD's own stamps from its start until`,
        `the harness, scanning /proc every ${POLL_MS} ms after the last orphan, finds no zombie below PID 1. Forking`,
        "dominates the total; the time after the last orphan is the reaping lag. Rounds alternate; medians."
      ]
    }
  }
}
