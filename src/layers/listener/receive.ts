import { Effect } from "effect"

/**
 * Runs `each` on every element of `source`, one after another, until it ends; fails with whatever the
 * iterator threw. Interrupted or done, the iterator's `return` runs. What `Stream.fromAsyncIterable`
 * and `Stream.runForEach` did here, without the Stream module: it was a fifth of the bundled daemon
 * that every boot had to load (bench/boot.ts).
 */
export const forEachAsync = <A>(
  source: AsyncIterable<A>,
  each: (item: A) => Effect.Effect<void>
): Effect.Effect<void, unknown> =>
  Effect.acquireUseRelease(
    Effect.sync(() => source[Symbol.asyncIterator]()),
    (iterator) =>
      Effect.gen(function*() {
        while (true) {
          const next = yield* Effect.tryPromise({ try: () => iterator.next(), catch: (e) => e })
          if (next.done === true) return
          yield* each(next.value)
        }
      }),
    (iterator) => (iterator.return ? Effect.promise(async () => iterator.return?.()) : Effect.void)
  )
