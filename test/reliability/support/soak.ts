import { expect } from "vitest"
import type { LogEvent } from "../../../devkit/daemonLog.js"
import { garbagePeer, tlsPeer, wrongCredentials } from "./hostile.js"
import type { Target } from "./hostileScenario.js"
import { connectCycles, driveSession } from "./load.js"
import type { Footprint } from "./procStats.js"
import { footprint, quietFootprint, rssKiB } from "./procStats.js"

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
  /** RSS samples (KiB) taken while the warm-up's traffic ran. */
  readonly warmUpSamples: ReadonlyArray<number>
  /** After the warm-up, at the quiet moment (quietFootprint). */
  readonly baseline: Footprint
  /** RSS samples (KiB) taken while the measured traffic ran. */
  readonly samples: ReadonlyArray<number>
  /** After the measured traffic, at the quiet moment. */
  readonly final: Footprint
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

/** `traffic` with RSS of `pid` sampled every `everyMs` while it runs. */
const sampled = async <A>(pid: number, everyMs: number, traffic: Promise<A>) => {
  const samples: Array<number> = []
  const sampler = setInterval(() => samples.push(rssKiB(pid)), everyMs)
  try {
    return { outcome: await traffic, samples }
  } finally {
    clearInterval(sampler)
  }
}

/**
 * Mixed traffic against the process `pid` behind `target`: warm-up, a quiet baseline (fds and RSS after
 * the daemon's quiet reclaim, quietFootprint), the measured traffic, then a quiet final reading. RSS is
 * sampled while both runs of traffic go on, so samples under traffic compare with samples under traffic.
 */
export const soak = async (
  target: Target,
  pid: number,
  logs: () => ReadonlyArray<LogEvent>,
  options: SoakOptions
): Promise<SoakReport> => {
  const warm = await sampled(pid, options.sampleEveryMs, mixedTraffic(target, options.sessions, options.warmUpMs))
  const baseline = await quietFootprint(pid, target, logs, footprint(pid))
  const measured = await sampled(
    pid,
    options.sampleEveryMs,
    mixedTraffic(target, options.sessions, options.measuredMs)
  )
  const final = await quietFootprint(pid, target, logs, baseline)
  return {
    commands: warm.outcome.commands + measured.outcome.commands,
    cycles: warm.outcome.cycles + measured.outcome.cycles,
    hostile: warm.outcome.hostile + measured.outcome.hostile,
    warmUpSamples: warm.samples,
    baseline,
    samples: measured.samples,
    final
  }
}
