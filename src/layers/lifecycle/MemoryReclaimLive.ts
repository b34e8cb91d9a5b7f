import { Duration, Effect, FiberHandle, Layer, Ref, Schedule } from "effect"
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
 * How often a busy daemon looks at its footprint. A reclaim only follows a Session's end after a quiet
 * second, which a CP reconnecting in a loop never leaves, and a CP that keeps one Session open and runs
 * commands on it never ends one: V8 grows its young generation under either, and only a reclaim shrinks
 * it. Every minute was too rare: the 10-minute soak's RSS climbed 15 % between two reclaims (issue 21).
 */
export const RECLAIM_EVERY = Duration.seconds(15)

/** Growth of RSS since the last reclaim that makes the periodic look run one; below it, no collection. */
export const RECLAIM_GROWTH = 4 * MIB

/**
 * `settled` arms a reclaim a quiet period later, each call restarting the period; every RECLAIM_EVERY the
 * footprint is compared with the one the last reclaim left, and RECLAIM_GROWTH more runs a reclaim then.
 * An idle daemon grows nothing, so it collects nothing.
 */
export const makeMemoryReclaim = (reclaim: Effect.Effect<void>, footprint: Effect.Effect<number>) =>
  Effect.gen(function*() {
    const pending = yield* FiberHandle.make<void, never>()
    const left = yield* Ref.make(yield* footprint)
    const reclaimed = Effect.andThen(reclaim, Effect.flatMap(footprint, (bytes) => Ref.set(left, bytes)))
    const grown = Effect.zipWith(footprint, Ref.get(left), (now, after) => now - after >= RECLAIM_GROWTH)
    yield* Effect.forkScoped(Effect.repeat(Effect.when(reclaimed, grown), Schedule.spaced(RECLAIM_EVERY)))
    return MemoryReclaim.of({
      settled: Effect.asVoid(FiberHandle.run(pending, Effect.delay(reclaimed, RECLAIM_QUIET)))
    })
  })

export const MemoryReclaimLive: Layer.Layer<MemoryReclaim> = Layer.effect(
  MemoryReclaim,
  Effect.flatMap(
    Effect.sync(fullGc),
    (collect) => makeMemoryReclaim(reclaimNow(collect), Effect.sync(() => process.memoryUsage.rss()))
  )
)
