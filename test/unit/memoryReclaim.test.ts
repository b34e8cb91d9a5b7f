import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import * as v8 from "node:v8"
import {
  fullGc,
  makeMemoryReclaim,
  MemoryReclaimLive,
  RECLAIM_EVERY,
  RECLAIM_QUIET,
  reclaimNow
} from "../../src/layers/lifecycle/MemoryReclaimLive.js"
import { MemoryReclaim } from "../../src/services/MemoryReclaim.js"
import { captureLogs } from "../support/logs.js"

const MIB = 1024 * 1024
const justUnder = Duration.subtract(RECLAIM_QUIET, Duration.millis(1))

describe("MemoryReclaim", () => {
  it.effect("reclaims once the Sessions stopped ending for the quiet period, once per burst", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const reclaim = yield* makeMemoryReclaim(Ref.update(runs, (n) => n + 1))
      // A burst: each end restarts the quiet period.
      for (let i = 0; i < 5; i++) {
        yield* reclaim.settled
        yield* TestClock.adjust(justUnder)
      }
      expect(yield* Ref.get(runs)).toBe(0)
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* Ref.get(runs)).toBe(1)
      // Quiet stays quiet; the next end arms it again.
      yield* TestClock.adjust(Duration.times(RECLAIM_QUIET, 10))
      expect(yield* Ref.get(runs)).toBe(1)
      yield* reclaim.settled
      yield* TestClock.adjust(RECLAIM_QUIET)
      expect(yield* Ref.get(runs)).toBe(2)
    }))

  it.effect("Sessions that never stop ending still get a reclaim every RECLAIM_EVERY", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const reclaim = yield* makeMemoryReclaim(Ref.update(runs, (n) => n + 1))
      const step = Duration.millis(Duration.toMillis(RECLAIM_QUIET) / 2)
      const steps = Math.ceil(Duration.toMillis(RECLAIM_EVERY) / Duration.toMillis(step))
      for (let round = 1; round <= 2; round++) {
        for (let i = 0; i < steps; i++) {
          yield* reclaim.settled
          yield* TestClock.adjust(step)
        }
        yield* reclaim.settled
        expect(yield* Ref.get(runs)).toBe(round)
      }
    }))

  it.effect("a pending reclaim ends with its scope", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      yield* Effect.scoped(Effect.flatMap(makeMemoryReclaim(Ref.update(runs, (n) => n + 1)), (r) => r.settled))
      yield* TestClock.adjust(RECLAIM_QUIET)
      expect(yield* Ref.get(runs)).toBe(0)
    }))

  it.live("the reclaim runs V8's full collector and glibc's trim, and logs the RSS and heap around them", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      // Garbage the young generation's scavenges would leave: promoted, then dropped.
      let garbage: Array<{ readonly n: number }> | undefined = Array.from({ length: 2_000_000 }, (_, n) => ({ n }))
      expect(garbage.length).toBe(2_000_000)
      garbage = undefined
      yield* reclaimNow(fullGc())
      const [event] = logs.events("memory_reclaimed")
      expect(event?.rss_before_mib).toBeGreaterThan(0)
      expect(event?.rss_after_mib).toBeGreaterThan(0)
      expect(Number(event?.heap_used_before_mib) - Number(event?.heap_used_after_mib)).toBeGreaterThanOrEqual(20)
      expect(typeof event?.malloc_trimmed).toBe("boolean")
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("the reclaim gives back the young generation's grown semi-spaces, not only the garbage in them", () => {
    const logs = captureLogs()
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")!
    return Effect.gen(function*() {
      // Garbage that survives a scavenge or two, round after round: the scavenger grows the semi-spaces.
      let kept: Array<{ readonly n: number }> = []
      for (let round = 0; round < 40; round++) kept = Array.from({ length: 200_000 }, (_, n) => ({ n }))
      expect(kept).toHaveLength(200_000)
      kept = []
      expect(newSpace().physical_space_size).toBeGreaterThan(8 * MIB)
      yield* reclaimNow(fullGc())
      expect(newSpace().physical_space_size).toBeLessThanOrEqual(4 * MIB)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a reclaim that fails is logged, not thrown", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      yield* reclaimNow(() => {
        throw new Error("no collector")
      })
      expect(logs.events("memory_reclaim_failed")).toMatchObject([{ error: "Error: no collector" }])
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
})
