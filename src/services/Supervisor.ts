import type { Duration } from "effect"
import { Context, Data, Effect, Layer, Option } from "effect"

export type SpawnOutcome = "spawned" | "already-spawned"

export class SpawnError extends Data.TaggedError("SpawnError")<{ readonly message: string }> {}

/** AgentReady reached a daemon without a Supervisor (Supervisor.disabled): there is no CMD to spawn. */
export class SpawnUnwired extends Data.TaggedError("SpawnUnwired")<{ readonly message: string }> {}

/** The user CMD, supervised as an init supervises its main child. */
export interface SupervisorShape {
  /** AgentReady: start the user CMD once; later calls answer "already-spawned", or the first attempt's error. */
  readonly spawn: (defaultCmd: string) => Effect.Effect<SpawnOutcome, SpawnError | SpawnUnwired>
  readonly spawned: Effect.Effect<boolean>
  /** The error of the spawn that failed (spawning is single-shot), if one did. */
  readonly spawnFailure: Effect.Effect<Option.Option<string>>
  /**
   * Runs `reply` (AgentReady's spawn and its answer) with the main child's exit held back: `exited`
   * does not complete, so the daemon does not tear its listener down, until the answer is out.
   */
  readonly answering: <A, E>(reply: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /** Waits for the user CMD's exit: its status, or 128 + signal. Never completes when nothing was spawned. */
  readonly exited: Effect.Effect<number>
  /**
   * SIGTERM to the child's process group, SIGKILL after `grace`; over once the main child is reaped (the
   * rest of its group is the orphan drain's). None when nothing was spawned.
   */
  readonly stop: (grace: Duration.Duration) => Effect.Effect<Option.Option<number>>
}

export class Supervisor extends Context.Service<Supervisor, SupervisorShape>()("clawkerd/Supervisor") {
  /** No user CMD: AgentReady is refused (SpawnUnwired), nothing ever exits. */
  static readonly disabled: Layer.Layer<Supervisor> = Layer.succeed(Supervisor, {
    spawn: () => Effect.fail(new SpawnUnwired({ message: "spawn entry not wired" })),
    spawned: Effect.succeed(false),
    spawnFailure: Effect.succeed(Option.none()),
    answering: (reply) => reply,
    exited: Effect.never,
    stop: () => Effect.succeed(Option.none())
  })
}
