import { Clock, Duration, Effect, FiberHandle, Layer, Ref } from "effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as Log from "../../lib/log.js"
import { addon } from "../../platform/native.js"
import { MemoryReclaim } from "../../services/MemoryReclaim.js"

/** Quiet time after the last Session ended before memory is reclaimed: a burst pays for one reclaim, not one each. */
export const RECLAIM_QUIET = Duration.seconds(1)

const MIB = 1024 * 1024

/**
 * V8's full collector, which Node exposes only behind --expose-gc: set at run time, the flag gives the
 * next new context a `gc` global. Its last-resort flavour is the collection V8 runs before it gives up
 * on memory: besides collecting the whole isolate it shrinks the young generation back to its initial
 * size and frees the pages V8 pools for reuse. A plain gc() did neither: after Session churn the
 * daemon's committed heap stayed 40-100 MiB above its live 15 MiB (measured for issue 21).
 */
export const fullGc = (): () => void => {
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc") as (options: object) => void
  return () => gc({ type: "major", execution: "sync", flavor: "last-resort" })
}

/**
 * One full collection, then glibc's free memory back to the kernel; RSS and live heap before and after.
 * It runs inside a Session's end: a failure is logged and the Session ends as it would have.
 */
export const reclaimNow = (collect: () => void): Effect.Effect<void> =>
  Effect.suspend(() => {
    const before = process.memoryUsage()
    collect()
    const trimmed = addon.trimMalloc()
    const after = process.memoryUsage()
    return Log.debug("memory_reclaimed", {
      rss_before_mib: Math.round(before.rss / MIB),
      rss_after_mib: Math.round(after.rss / MIB),
      heap_used_before_mib: Math.round(before.heapUsed / MIB),
      heap_used_after_mib: Math.round(after.heapUsed / MIB),
      malloc_trimmed: trimmed
    })
  }).pipe(Effect.catchDefect((defect) => Log.warn("memory_reclaim_failed", { error: String(defect) })))

/**
 * When Sessions never stop ending (a CP reconnecting in a loop, the soak), the reclaim still runs at
 * most this long after the previous one: memory a busy daemon frees goes back too.
 */
export const RECLAIM_EVERY = Duration.minutes(1)

/**
 * Debounced: each `settled` restarts the quiet period, and the reclaim runs when one completes; a
 * `settled` RECLAIM_EVERY or more after the last reclaim (or the start) runs it at once.
 */
export const makeMemoryReclaim = (reclaim: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const pending = yield* FiberHandle.make<void, never>()
    const last = yield* Ref.make(yield* Clock.currentTimeMillis)
    const reclaimed = Effect.andThen(reclaim, Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.set(last, now)))
    const overdue = Effect.zipWith(Clock.currentTimeMillis, Ref.get(last), (now, at) =>
      now - at >= Duration.toMillis(RECLAIM_EVERY))
    return MemoryReclaim.of({
      settled: Effect.flatMap(overdue, (isOverdue) =>
        isOverdue
          ? Effect.andThen(FiberHandle.clear(pending), reclaimed)
          : Effect.asVoid(FiberHandle.run(pending, Effect.delay(reclaimed, RECLAIM_QUIET))))
    })
  })

export const MemoryReclaimLive: Layer.Layer<MemoryReclaim> = Layer.effect(
  MemoryReclaim,
  Effect.flatMap(Effect.sync(fullGc), (collect) => makeMemoryReclaim(reclaimNow(collect)))
)
