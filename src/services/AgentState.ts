import { Context, Effect, Layer } from "effect"

/** What Hello reports: the init marker (survives restarts) and whether this process spawned the user CMD. */
export interface AgentStateShape {
  /** The init marker file exists; a stat error counts as not initialized. */
  readonly initialized: Effect.Effect<boolean>
  /** The user CMD has been spawned by this process. */
  readonly cmdRunning: Effect.Effect<boolean>
  /** Writes the marker (parent dir 0700, file 0600). Failures are logged and tolerated. */
  readonly markInitialized: Effect.Effect<void>
  /** Called by the Supervisor right after the user CMD started. */
  readonly markCmdRunning: Effect.Effect<void>
}

export class AgentState extends Context.Service<AgentState, AgentStateShape>()("clawkerd/AgentState") {
  /** No init marker and no CMD of its own: Hello reports neither, AgentInitialized is answered and forgotten. */
  static readonly disabled: Layer.Layer<AgentState> = Layer.succeed(AgentState, {
    initialized: Effect.succeed(false),
    cmdRunning: Effect.succeed(false),
    markInitialized: Effect.void,
    markCmdRunning: Effect.void
  })
}
