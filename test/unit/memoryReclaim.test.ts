import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Ref, TestClock } from "effect"
import { makeMemoryReclaim, MemoryReclaimLive, RECLAIM_QUIET } from "../../src/layers/MemoryReclaimLive.js"
import { MemoryReclaim } from "../../src/services/MemoryReclaim.js"
import { captureLogs } from "../support/logs.js"

const justUnder = Duration.subtract(RECLAIM_QUIET, Duration.millis(1))

describe("MemoryReclaim", () => {
  it.scoped("reclaims once the Sessions stopped ending for the quiet period, once per burst", () =>
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

  it.scoped("a pending reclaim ends with its scope", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      yield* Effect.scoped(Effect.flatMap(makeMemoryReclaim(Ref.update(runs, (n) => n + 1)), (r) => r.settled))
      yield* TestClock.adjust(RECLAIM_QUIET)
      expect(yield* Ref.get(runs)).toBe(0)
    }))

  it.live("the live reclaim runs V8's full collector and glibc's trim, and logs the RSS around them", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const reclaim = yield* MemoryReclaim
      // Garbage the young generation's scavenges would leave: promoted, then dropped.
      let garbage: Array<{ readonly n: number }> | undefined = Array.from({ length: 2_000_000 }, (_, n) => ({ n }))
      yield* Effect.sleep(Duration.millis(50))
      expect(garbage.length).toBe(2_000_000)
      garbage = undefined
      yield* reclaim.settled
      yield* Effect.sleep(Duration.sum(RECLAIM_QUIET, Duration.millis(200)))
      const [event] = logs.events("memory_reclaimed")
      expect(event).toBeDefined()
      expect(event?.rss_before_mib).toBeGreaterThan(0)
      expect(event?.rss_after_mib).toBeGreaterThan(0)
      expect(Number(event?.heap_used_before_mib) - Number(event?.heap_used_after_mib)).toBeGreaterThanOrEqual(20)
      expect(typeof event?.malloc_trimmed).toBe("boolean")
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(MemoryReclaimLive, logs.layer)))
  })
})
