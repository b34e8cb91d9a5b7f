import { Effect } from "effect"
import type { Scope } from "effect"

/**
 * `process.on(signal, listener)` for the life of the scope. The listener runs outside any fiber,
 * so it must not throw; Node passes it the signal's name. `first` puts it ahead of every listener
 * already there (`prependListener`): a signal that is both forwarded and a shutdown request must reach
 * the child before the shutdown can act on it, whatever order the layers were built in.
 */
export const listenScoped = (
  signal: NodeJS.Signals,
  listener: (signal: NodeJS.Signals) => void,
  options: { readonly first?: boolean } = {}
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() =>
      void (options.first === true ? process.prependListener(signal, listener) : process.on(signal, listener))
    ),
    () => Effect.sync(() => void process.off(signal, listener))
  )
