import type { Duration, Effect } from "effect"
import { Context } from "effect"

export interface DrainReport {
  readonly reaped: number
  readonly terminated: number
  readonly killed: number
  /** Processes still alive when the bounded drain gave up. */
  readonly survivors: number
}

/**
 * Adopted orphans: reaped by pid as they die (phase 1), and at teardown terminated, killed after a
 * grace and reaped (phase 2). Never waits for a pid the ProcessRegistry owns.
 */
export interface ReaperShape {
  readonly reapOrphans: Effect.Effect<number>
  readonly drain: (grace: Duration.Duration) => Effect.Effect<DrainReport>
}

export class Reaper extends Context.Service<Reaper, ReaperShape>()("clawkerd/Reaper") {}
