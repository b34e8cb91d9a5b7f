import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { spawnSync } from "node:child_process"
import {
  busyCollector,
  collectors,
  makeMemoryReclaim,
  MemoryReclaimLive,
  RECLAIM_GROWTH,
  RECLAIM_LOOK,
  RECLAIM_QUIET,
  reclaimNow,
  YOUNG_GENERATION_BOUND,
  youngGeneration
} from "../../src/layers/lifecycle/MemoryReclaimLive.js"
import { MemoryReclaim } from "../../src/services/MemoryReclaim.js"
import { repoRoot } from "../support/daemon.js"
import { captureLogs } from "../support/logs.js"

const MIB = 1024 * 1024
const justUnder = Duration.subtract(RECLAIM_QUIET, Duration.millis(1))

/** Quiet and busy reclaims counting their runs over a footprint the test sets; a run leaves the footprint as it is. */
const counted = Effect.gen(function*() {
  const quiet = yield* Ref.make(0)
  const busy = yield* Ref.make(0)
  const bytes = yield* Ref.make(70 * MIB)
  const reclaim = yield* makeMemoryReclaim({
    quiet: Ref.update(quiet, (n) => n + 1),
    busy: Ref.update(busy, (n) => n + 1),
    footprint: Ref.get(bytes)
  })
  const grow = (by: number) => Ref.update(bytes, (b) => b + by)
  return { reclaim, quiet: Ref.get(quiet), busy: Ref.get(busy), grow }
})

/** Garbage that survives a scavenge or two, round after round: the scavenger grows the young generation. */
const growYoungGeneration = () => {
  let kept: Array<{ readonly n: number }> = []
  for (let round = 0; round < 60; round++) kept = Array.from({ length: 200_000 }, (_, n) => ({ n }))
  return kept.length
}

describe("MemoryReclaim", () => {
  it.effect("reclaims once the Sessions stopped ending for the quiet period, once per burst", () =>
    Effect.gen(function*() {
      const { reclaim, quiet: runs, busy } = yield* counted
      // A burst: each end restarts the quiet period.
      for (let i = 0; i < 5; i++) {
        yield* reclaim.settled
        yield* TestClock.adjust(justUnder)
      }
      expect(yield* runs).toBe(0)
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* runs).toBe(1)
      // Quiet stays quiet; the next end arms it again.
      yield* TestClock.adjust(Duration.times(RECLAIM_QUIET, 10))
      expect(yield* runs).toBe(1)
      yield* reclaim.settled
      yield* TestClock.adjust(RECLAIM_QUIET)
      expect(yield* runs).toBe(2)
      expect(yield* busy).toBe(0)
    }))

  it.effect("Sessions that never stop ending: a grown footprint gets a busy reclaim at each look", () =>
    Effect.gen(function*() {
      const { reclaim, busy: runs, quiet, grow } = yield* counted
      const step = Duration.millis(Duration.toMillis(RECLAIM_QUIET) / 2)
      const steps = Duration.toMillis(RECLAIM_LOOK) / Duration.toMillis(step)
      for (let round = 1; round <= 3; round++) {
        for (let i = 0; i < steps; i++) {
          yield* reclaim.settled
          yield* grow(RECLAIM_GROWTH / steps)
          yield* TestClock.adjust(step)
        }
        expect(yield* runs).toBe(round)
      }
      expect(yield* quiet).toBe(0)
    }))

  it.effect("one Session that never ends: its commands' growth is reclaimed at the next look", () =>
    Effect.gen(function*() {
      const { grow, busy: runs } = yield* counted
      yield* grow(RECLAIM_GROWTH)
      yield* TestClock.adjust(RECLAIM_LOOK)
      expect(yield* runs).toBe(1)
      // What the reclaim could not give back is the new reference: no collection every look after it.
      yield* TestClock.adjust(Duration.times(RECLAIM_LOOK, 4))
      expect(yield* runs).toBe(1)
    }))

  it.effect("growth under RECLAIM_GROWTH, or none (an idle daemon), collects nothing", () =>
    Effect.gen(function*() {
      const { grow, busy, quiet } = yield* counted
      const runs = Effect.zipWith(busy, quiet, (a, b) => a + b)
      yield* TestClock.adjust(Duration.times(RECLAIM_LOOK, 4))
      yield* grow(RECLAIM_GROWTH - 1)
      yield* TestClock.adjust(Duration.times(RECLAIM_LOOK, 4))
      expect(yield* runs).toBe(0)
    }))

  it.effect("a pending reclaim and the periodic look end with their scope", () =>
    Effect.gen(function*() {
      const runs = yield* Effect.scoped(Effect.gen(function*() {
        const { reclaim, busy, quiet, grow } = yield* counted
        yield* reclaim.settled
        yield* grow(RECLAIM_GROWTH)
        return Effect.zipWith(busy, quiet, (a, b) => a + b)
      }))
      yield* TestClock.adjust(RECLAIM_LOOK)
      expect(yield* runs).toBe(0)
    }))

  it.live("the reclaim runs V8's full collector and glibc's trim, and logs the RSS and heap around them", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      // Garbage the young generation's scavenges would leave: promoted, then dropped.
      let garbage: Array<{ readonly n: number }> | undefined = Array.from({ length: 2_000_000 }, (_, n) => ({ n }))
      expect(garbage.length).toBe(2_000_000)
      garbage = undefined
      yield* reclaimNow(collectors().full, "busy")
      const [event] = logs.events("memory_reclaimed")
      expect(event?.rss_before_mib).toBeGreaterThan(0)
      expect(event?.rss_after_mib).toBeGreaterThan(0)
      expect(Number(event?.heap_used_before_mib) - Number(event?.heap_used_after_mib)).toBeGreaterThanOrEqual(20)
      expect(typeof event?.malloc_trimmed).toBe("boolean")
      expect(event?.kind).toBe("busy")
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("the quiet reclaim gives back the young generation's grown semi-spaces, not only the garbage in them", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      expect(growYoungGeneration()).toBe(200_000)
      expect(youngGeneration()).toBeGreaterThan(8 * MIB)
      yield* reclaimNow(collectors().lastResort, "quiet")
      expect(youngGeneration()).toBeLessThanOrEqual(4 * MIB)
    }).pipe(Effect.provide(logs.layer))
  })

  it("a busy reclaim keeps the young generation V8 grew, unless it outgrew its bound", () => {
    const gc = collectors()
    expect(growYoungGeneration()).toBe(200_000)
    // The full collection keeps the young generation's size: what a busy daemon wants of it.
    gc.full()
    expect(youngGeneration()).toBeGreaterThan(YOUNG_GENERATION_BOUND)
    expect(busyCollector(gc)).toBe(gc.lastResort)
    gc.lastResort()
    expect(youngGeneration()).toBeLessThanOrEqual(YOUNG_GENERATION_BOUND)
    expect(busyCollector(gc)).toBe(gc.full)
  })

  it.effect("a reclaim that fails is logged, not thrown", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      yield* reclaimNow(() => {
        throw new Error("no collector")
      }, "quiet")
      expect(logs.events("memory_reclaim_failed")).toMatchObject([{ kind: "quiet", error: "Error: no collector" }])
      expect(logs.events("memory_reclaimed")).toEqual([])
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("the live layer reclaims a quiet period after a Session ended", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      yield* (yield* MemoryReclaim).settled
      expect(logs.events("memory_reclaimed")).toEqual([])
      yield* Effect.sleep(Duration.sum(RECLAIM_QUIET, Duration.millis(300)))
      expect(logs.events("memory_reclaimed")).toHaveLength(1)
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(MemoryReclaimLive, logs.layer)))
  })

  /**
   * V8's optimization status bits of a function that was made hot and asked for TurboFan, then for Maglev,
   * in a fresh node (the flags are process-wide) with the built layer or without it.
   */
  const tiersReached = (withLayer: boolean) => {
    const script = `
      import { Effect, Layer } from "effect";
      import { MemoryReclaimLive } from "./dist/layers/lifecycle/MemoryReclaimLive.js";
      if (${withLayer}) await Effect.runPromise(Effect.scoped(Layer.build(MemoryReclaimLive)));
      const turbo = (x) => x * 2 + 1;
      const maglev = (x) => x * 3 + 1;
      %PrepareFunctionForOptimization(turbo); turbo(1); turbo(2); %OptimizeFunctionOnNextCall(turbo); turbo(3);
      %PrepareFunctionForOptimization(maglev); maglev(1); maglev(2); %OptimizeMaglevOnNextCall(maglev); maglev(3);
      console.log(JSON.stringify([%GetOptimizationStatus(turbo), %GetOptimizationStatus(maglev)]));`
    const run = spawnSync(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e", script], {
      cwd: repoRoot,
      encoding: "utf8"
    })
    if (run.status !== 0) throw new Error(`node exited ${run.status}: ${run.stderr}`)
    const [turbo, maglev] = JSON.parse(run.stdout) as [number, number]
    // V8's OptimizationStatus: bit 5 Maglevved, bit 6 TurboFanned.
    return { turbofan: (turbo & (1 << 6)) !== 0, maglev: (maglev & (1 << 5)) !== 0 }
  }

  it("once the live layer is built, neither optimizing tier compiles hot code", () => {
    expect(tiersReached(false)).toEqual({ turbofan: true, maglev: true })
    expect(tiersReached(true)).toEqual({ turbofan: false, maglev: false })
  }, 30_000)
})
