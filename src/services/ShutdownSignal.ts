import type { Effect } from "effect"
import { Context } from "effect"

/**
 * SIGTERM or SIGINT reached the daemon. The main program races `received` against the other
 * wake-up events, then stops the user CMD (the Supervisor's stop sends SIGTERM to its group).
 */
export interface ShutdownSignalShape {
  /** The first shutdown signal; waits until one arrives. Every arrival is logged as `shutdown_signal_received`. */
  readonly received: Effect.Effect<NodeJS.Signals>
}

export class ShutdownSignal extends Context.Service<ShutdownSignal, ShutdownSignalShape>()("clawkerd/ShutdownSignal") {}
