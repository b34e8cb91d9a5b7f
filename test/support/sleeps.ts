import { Clock, Effect } from "effect"

/**
 * Effect 4 made the TestClock's pending-sleep queue private (v3's `TestClock.sleeps()` is gone). Tests that must
 * wait until a timer is armed before adjusting the clock run under this wrapper: it provides a `Clock` that
 * delegates to the current one (the TestClock under `it.effect`) and counts the sleeps still pending.
 */
export const withSleepCount = <A, E, R>(
  body: (pendingSleeps: () => number) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    let pending = 0
    const tracked: Clock.Clock = Object.create(clock)
    tracked.sleep = (duration) =>
      Effect.suspend(() => {
        pending++
        return clock.sleep(duration).pipe(Effect.ensuring(Effect.sync(() => void pending--)))
      })
    return yield* body(() => pending).pipe(Effect.provideService(Clock.Clock, tracked))
  })

/** Yields until at least one sleep is pending on the (tracked) clock. */
export const untilSleepPending = (pendingSleeps: () => number) =>
  Effect.gen(function*() {
    while (pendingSleeps() === 0) yield* Effect.yieldNow
  })
