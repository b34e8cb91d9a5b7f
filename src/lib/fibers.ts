import type { Duration, Option } from "effect"
import { Effect, Fiber } from "effect"

/**
 * Runs `effect` on a fiber of its own and waits for it. The caller may be uninterruptible (a
 * finalizer) or already being interrupted (a worker torn down with its Session); neither stops the
 * effect, and the effect's own timeouts and races still work, because its fiber is interruptible
 * and nobody else interrupts it. Only for effects that end by themselves.
 */
export const onOwnFiber = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.flatMap(Effect.forkDetach(effect), Fiber.join)

/** Waits at most `limit` for `effect`, wherever it is called from (see onOwnFiber). */
export const waitAtMost = <A, E>(
  effect: Effect.Effect<A, E>,
  limit: Duration.Input
): Effect.Effect<Option.Option<A>, E> => onOwnFiber(Effect.timeoutOption(effect, limit))
