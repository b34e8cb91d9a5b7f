/**
 * How much of the audit log refused connections may take. Anyone who can reach the port can cause
 * refusals, so each one gets its own line only within these budgets; every refusal is counted in
 * the summary of its window all the same.
 */
export interface RefusalLogLimits {
  /** Lines per source address per window. */
  readonly linesPerSource: number
  /** Lines for all sources together per window. */
  readonly linesPerWindow: number
  /** Distinct sources counted one by one per window; past it they are counted together. */
  readonly trackedSources: number
  /** Sources the summary names (the ones with the most refusals). */
  readonly summarySources: number
}

/** One window's refusals, as the summary line reports them. */
export interface RefusalSummary {
  /** Refused connections in the window, with or without a line of their own. */
  readonly count: number
  /** Those that had no line of their own. */
  readonly suppressed: number
  /** Refusals per source address, the busiest `summarySources` of them. */
  readonly sources: Readonly<Record<string, number>>
  /** Refusals from sources not named in `sources`. */
  readonly other_sources: number
  /** How many distinct sources there were (at least; past `trackedSources` they are not told apart). */
  readonly distinct_sources: number
  readonly reasons: Readonly<Record<string, number>>
}

const UNTRACKED = "\u0000untracked"

/** Counts refusals per window; `refused` says whether this one gets a line, `drain` ends the window. */
export const makeRefusalLog = (limits: RefusalLogLimits) => {
  let bySource = new Map<string, number>()
  let reasons = new Map<string, number>()
  let count = 0
  let logged = 0

  return {
    refused: (source: string, reason: string): boolean => {
      const key = bySource.has(source) || bySource.size < limits.trackedSources ? source : UNTRACKED
      const fromSource = (bySource.get(key) ?? 0) + 1
      bySource.set(key, fromSource)
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
      count++
      // Untracked sources cannot be told apart, so they share the global budget only.
      const withinSource = key === UNTRACKED || fromSource <= limits.linesPerSource
      if (!withinSource || logged >= limits.linesPerWindow) return false
      logged++
      return true
    },
    drain: (): RefusalSummary | undefined => {
      if (count === 0) return undefined
      const untracked = bySource.get(UNTRACKED) ?? 0
      bySource.delete(UNTRACKED)
      const busiest = [...bySource].sort((a, b) => b[1] - a[1]).slice(0, limits.summarySources)
      const named = busiest.reduce((sum, [, n]) => sum + n, 0)
      const summary: RefusalSummary = {
        count,
        suppressed: count - logged,
        sources: Object.fromEntries(busiest),
        other_sources: count - named,
        distinct_sources: bySource.size + (untracked > 0 ? 1 : 0),
        reasons: Object.fromEntries(reasons)
      }
      bySource = new Map()
      reasons = new Map()
      count = 0
      logged = 0
      return summary
    }
  }
}
