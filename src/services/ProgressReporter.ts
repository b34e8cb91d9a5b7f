import { Context, Effect, Layer } from "effect"

/**
 * clawkerd's console during CP-driven init (spec session.md §6). Every call is a no-op once muted;
 * it mutes for good at Final (AgentReady) and at the end of any Session.
 */
export interface ProgressReporterShape {
  readonly banner: Effect.Effect<void>
  /** Start line for a ShellCommand whose command_id names an init step; other ids are ignored. */
  readonly startStep: (commandId: string) => Effect.Effect<void>
  /** Completion line, called after the terminal reply was written to the stream. */
  readonly endStep: (commandId: string, ok: boolean) => Effect.Effect<void>
  /** print_output: the command's merged output, raw. */
  readonly echo: (bytes: Uint8Array) => Effect.Effect<void>
  /** Closing banner before the user CMD takes the terminal, then muted. */
  readonly final: Effect.Effect<void>
  readonly mute: Effect.Effect<void>
}

export class ProgressReporter
  extends Context.Service<ProgressReporter, ProgressReporterShape>()("clawkerd/ProgressReporter")
{
  /** A console nobody watches: every call does nothing. */
  static readonly disabled: Layer.Layer<ProgressReporter> = Layer.succeed(ProgressReporter, {
    banner: Effect.void,
    startStep: () => Effect.void,
    endStep: () => Effect.void,
    echo: () => Effect.void,
    final: Effect.void,
    mute: Effect.void
  })
}
