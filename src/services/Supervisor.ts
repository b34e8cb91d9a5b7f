import type { Duration, Effect, Option } from "effect"
import { Context, Data } from "effect"

export type SpawnOutcome = "spawned" | "already-spawned"

export class SpawnError extends Data.TaggedError("SpawnError")<{ readonly message: string }> {}

/** The user CMD, supervised as an init supervises its main child. */
export interface SupervisorShape {
  /** AgentReady: start the user CMD once; later calls answer "already-spawned". */
  readonly spawn: (defaultCmd: string) => Effect.Effect<SpawnOutcome, SpawnError>
  readonly spawned: Effect.Effect<boolean>
  /** Waits for the user CMD's exit: its status, or 128 + signal. Never completes when nothing was spawned. */
  readonly exited: Effect.Effect<number>
  /**
   * SIGTERM to the child's process group, SIGKILL after `grace`; finishes early once the group is gone.
   * None when nothing was spawned.
   */
  readonly stop: (grace: Duration.Duration) => Effect.Effect<Option.Option<number>>
}

export class Supervisor extends Context.Service<Supervisor, SupervisorShape>()("clawkerd/Supervisor") {}
