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
 * How often a busy daemon looks at its footprint. A CP reconnecting in a loop never leaves the quiet
 * second, and a CP that keeps one Session and runs commands on it never ends one; meanwhile the
 * connections that ended keep their OpenSSL and nghttp2 memory until V8 collects their wrappers, which
 * it does late because they look small to it. Measured under the soak's mixed traffic: RSS climbed
 * 1-3 MiB a second; with a look every minute the 10-minute soak's samples went 95 -> 149 MiB between
 * looks, every 3 s they stay within a few MiB (issue 21).
 */
export const RECLAIM_LOOK = Duration.seconds(3)

/** Growth of RSS since the last reclaim that makes a look collect; below it, nothing runs. */
export const RECLAIM_GROWTH = 4 * MIB

/**
 * The young generation a busy reclaim leaves alone. V8 grows it under load up to 3 x 32 MiB and keeps it;
 * PID 1 starts with `--max-semi-space-size=4` (src/programs/nodeFlags.ts), which holds it near 8 MiB, but a
 * daemon started without the flag has its young generation shrunk by the reclaim instead.
 */
export const YOUNG_GENERATION_BOUND = 16 * MIB

export interface Collectors {
  /** A full collection: garbage and the native memory it holds, the heap's sizing kept. */
  readonly full: () => void
  /**
   * V8's last-resort collection, what it runs before it gives up on memory: it also shrinks the young
   * generation to its initial size and frees the pages V8 pools for reuse (a plain full one left the
   * heap 40-100 MiB above its live 15 MiB after Session churn). Under traffic that shrinking costs: the
   * next scavenges promote what would have died young.
   */
  readonly lastResort: () => void
}

/** V8's collector, which Node exposes only behind --expose-gc: set at run time, it gives a new context a `gc`. */
export const collectors = (): Collectors => {
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc") as (options: object) => void
  return {
    full: () => gc({ type: "major", execution: "sync" }),
    lastResort: () => gc({ type: "major", execution: "sync", flavor: "last-resort" })
  }
}

/**
 * Turns V8's optimizing tiers, Maglev and TurboFan, off for the rest of the process: the daemon's code runs
 * interpreted and in Sparkplug's baseline code. Their compiled code, feedback and zones stayed resident
 * after traffic, and TurboFan also kept part of node's executable paged in. After 1,000 Sessions the idle
 * daemon held 76.6 MiB with both tiers on and 67.9 with both off (node's text pages 53.1 against
 * 47.6 MiB); after the soak's Session bursts, connect cycles and mixed traffic, 74.0 with Maglev on and
 * 70.9 with both off, against 65.2 after boot. The hot paths are native (TLS, HTTP/2, pipes): output
 * throughput stays above its target, at more CPU per GiB (README, Benchmarks). Set when the layer is
 * built, once the bundle and node's builtins are compiled, never on node's command line: a flag there
 * changes V8's flag hash, and V8 then refuses node's code cache for its builtins and the bundle's own
 * (boot 118 -> 183 ms).
 */
export const withoutOptimizingTiers = (): void => {
  v8.setFlagsFromString("--no-turbofan")
  v8.setFlagsFromString("--no-maglev")
}

/** Physical size of V8's young generation (new space and its large objects). */
export const youngGeneration = (): number =>
  v8.getHeapSpaceStatistics()
    .filter((space) => space.space_name === "new_space" || space.space_name === "new_large_object_space")
    .reduce((sum, space) => sum + space.physical_space_size, 0)

/** The busy reclaim's collection: the full one, the last-resort one once the young generation outgrew its bound. */
export const busyCollector = (gc: Collectors): () => void =>
  youngGeneration() > YOUNG_GENERATION_BOUND ? gc.lastResort : gc.full

/**
 * One collection, then glibc's free memory back to the kernel; RSS and live heap before and after.
 * A failure is logged, never thrown: it runs at a Session's end and in the daemon's background.
 */
export const reclaimNow = (collect: () => void, kind: "quiet" | "busy"): Effect.Effect<void> =>
  Effect.suspend(() => {
    const before = process.memoryUsage()
    collect()
    const trimmed = addon.trimMalloc()
    const after = process.memoryUsage()
    return Log.debug("memory_reclaimed", {
      kind,
      rss_before_mib: Math.round(before.rss / MIB),
      rss_after_mib: Math.round(after.rss / MIB),
      heap_used_before_mib: Math.round(before.heapUsed / MIB),
      heap_used_after_mib: Math.round(after.heapUsed / MIB),
      malloc_trimmed: trimmed
    })
  }).pipe(Effect.catchDefect((defect) => Log.warn("memory_reclaim_failed", { kind, error: String(defect) })))

export interface Reclaims {
  /** Once traffic stopped: everything back, the heap's sizing included. */
  readonly quiet: Effect.Effect<void>
  /** While traffic runs. */
  readonly busy: Effect.Effect<void>
  /** RSS now, in bytes. */
  readonly footprint: Effect.Effect<number>
}

/**
 * `settled` arms the quiet reclaim a quiet period later, each call restarting the period; every
 * RECLAIM_LOOK the footprint is compared with the one the last reclaim left, and RECLAIM_GROWTH more
 * runs the busy one. An idle daemon grows nothing, so it collects nothing.
 */
export const makeMemoryReclaim = ({ busy, footprint, quiet }: Reclaims) =>
  Effect.gen(function*() {
    const pending = yield* FiberHandle.make<void, never>()
    const left = yield* Ref.make(yield* footprint)
    const leaving = (reclaim: Effect.Effect<void>) =>
      Effect.andThen(reclaim, Effect.flatMap(footprint, (bytes) => Ref.set(left, bytes)))
    const grown = Effect.zipWith(footprint, Ref.get(left), (now, after) => now - after >= RECLAIM_GROWTH)
    yield* Effect.forkScoped(Effect.repeat(Effect.when(leaving(busy), grown), Schedule.spaced(RECLAIM_LOOK)))
    return MemoryReclaim.of({
      settled: Effect.asVoid(FiberHandle.run(pending, Effect.delay(leaving(quiet), RECLAIM_QUIET)))
    })
  })

export const MemoryReclaimLive: Layer.Layer<MemoryReclaim> = Layer.effect(
  MemoryReclaim,
  Effect.suspend(() => {
    withoutOptimizingTiers()
    const gc = collectors()
    return makeMemoryReclaim({
      quiet: reclaimNow(gc.lastResort, "quiet"),
      busy: Effect.suspend(() => reclaimNow(busyCollector(gc), "busy")),
      footprint: Effect.sync(() => process.memoryUsage.rss())
    })
  })
)
