import { Effect } from "effect"
import type { Scope } from "effect"

/**
 * `process.on(signal, listener)` for the life of the scope. The listener runs outside any fiber,
 * so it must not throw; Node passes it the signal's name.
 */
export const listenScoped = (
  signal: NodeJS.Signals,
  listener: (signal: NodeJS.Signals) => void
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => void process.on(signal, listener)),
    () => Effect.sync(() => void process.off(signal, listener))
  )
