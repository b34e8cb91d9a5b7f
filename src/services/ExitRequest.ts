import type { Effect } from "effect"
import { Context } from "effect"

/**
 * A command asked the daemon to exit (exit_on_non_zero). The first request wins; the main program
 * races `requested` against the other wake-up events.
 */
export interface ExitRequestShape {
  readonly request: (code: number) => Effect.Effect<void>
  readonly requested: Effect.Effect<number>
}

export class ExitRequest extends Context.Service<ExitRequest, ExitRequestShape>()("clawkerd/ExitRequest") {}
