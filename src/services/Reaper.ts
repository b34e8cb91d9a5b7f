import type { Duration, Effect, Option } from "effect"
import { Context } from "effect"

export interface DrainReport {
  readonly reaped: number
  readonly terminated: number
  readonly killed: number
  /** Processes still alive when the bounded drain gave up. */
  readonly survivors: number
  /** The drain gave up with survivors: the exit code 0 becomes 1. */
  readonly gaveUp: boolean
}

/**
 * Adopted orphans: reaped by pid as they die (phase 1), and at teardown given a grace to exit, then
 * terminated, killed and reaped, a grace apart (phase 2). Never waits for a pid the ProcessRegistry owns.
 */
export interface ReaperShape {
  readonly reapOrphans: Effect.Effect<number>
  readonly drain: (grace: Duration.Duration) => Effect.Effect<DrainReport>
  /** The last drain's report, also after the Reaper's scope closed (the exit code depends on it). */
  readonly lastDrain: Effect.Effect<Option.Option<DrainReport>>
}

export class Reaper extends Context.Service<Reaper, ReaperShape>()("clawkerd/Reaper") {}
