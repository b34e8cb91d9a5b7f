import { Context, Effect, Layer } from "effect"

/**
 * Gives memory back once the daemon goes quiet. V8 keeps the heap pages and glibc the malloc'd memory
 * that a burst of Sessions used, long after the objects are gone: 1,000 Sessions took clawkerd from
 * 65 to 140 MiB of RSS, for a live heap of 15 MiB (bench/memory.ts).
 */
export interface MemoryReclaimShape {
  /**
   * Something that held memory ended (a Session); the reclaim runs once nothing else ended for a while.
   * Traffic that never pauses is covered by the live layer's own periodic look at the footprint.
   */
  readonly settled: Effect.Effect<void>
}

export class MemoryReclaim extends Context.Service<MemoryReclaim, MemoryReclaimShape>()("clawkerd/MemoryReclaim") {
  /** Memory is left to the runtime. */
  static readonly disabled: Layer.Layer<MemoryReclaim> = Layer.succeed(MemoryReclaim, { settled: Effect.void })
}
