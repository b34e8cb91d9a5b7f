import { expect } from "vitest"
import { garbagePeer, tlsPeer, wrongCredentials } from "./hostile.js"
import type { Target } from "./hostileScenario.js"
import { connectCycles, driveSession } from "./load.js"
import type { Footprint } from "./procStats.js"
import { footprint, rssKiB, settledFootprint } from "./procStats.js"

export interface SoakOptions {
  /** Traffic before the baseline is taken. */
  readonly warmUpMs: number
  /** Traffic after it. */
  readonly measuredMs: number
  /** Long-lived Sessions running exchanges side by side. */
  readonly sessions: number
  readonly sampleEveryMs: number
}

export interface SoakReport {
  readonly commands: number
  readonly cycles: number
  readonly hostile: number
  readonly baseline: Footprint
  readonly final: Footprint
  /** RSS samples (KiB) taken while the measured traffic ran. */
  readonly samples: ReadonlyArray<number>
}

/**
 * `sessions` long-lived Sessions running exchanges side by side, connect cycles and hostile peers,
 * each repeated until `untilMs` has passed; returns what was done.
 */
export const mixedTraffic = async (target: Target, sessions: number, untilMs: number) => {
  const totals = { commands: 0, cycles: 0, hostile: 0 }
  const credentials = await wrongCredentials(target.deployment)
  const until = Date.now() + untilMs
  let round = 0
  const sessionWorker = async (n: number) => {
    const s = await target.session()
    while (Date.now() < until) totals.commands += await driveSession(s, 40, `soak${n}-${round++}`)
    s.close()
    expect((await s.ended).code).toBe(0)
  }
  const cycleWorker = async () => {
    while (Date.now() < until) totals.cycles += await connectCycles(target, 10, 2)
  }
  const hostileWorker = async () => {
    for (let i = 0; Date.now() < until; i++) {
      const outcome = i % 2 === 0
        ? await garbagePeer(target.port)
        : await tlsPeer(target.port, target.deployment.ca.certPem, credentials[i % credentials.length]!.options)
      expect(outcome.served).toBe(false)
      totals.hostile++
    }
  }
  await Promise.all([
    ...Array.from({ length: sessions }, (_, n) => sessionWorker(n)),
    cycleWorker(),
    hostileWorker()
  ])
  return totals
}

/**
 * Mixed traffic against the process `pid` behind `target`: warm-up, a settled baseline (fds and
 * RSS with no traffic), the measured traffic with RSS sampled, then a settled final sample.
 */
export const soak = async (target: Target, pid: number, options: SoakOptions): Promise<SoakReport> => {
  const warm = await mixedTraffic(target, options.sessions, options.warmUpMs)
  const baseline = await settledFootprint(pid, footprint(pid))
  const samples: Array<number> = []
  const sampler = setInterval(() => samples.push(rssKiB(pid)), options.sampleEveryMs)
  let measured
  try {
    measured = await mixedTraffic(target, options.sessions, options.measuredMs)
  } finally {
    clearInterval(sampler)
  }
  const final = await settledFootprint(pid, baseline)
  return {
    commands: warm.commands + measured.commands,
    cycles: warm.cycles + measured.cycles,
    hostile: warm.hostile + measured.hostile,
    baseline,
    final,
    samples
  }
}
