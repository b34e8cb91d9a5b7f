import { Duration, Effect, Layer, Metric, Option, Queue } from "effect"
import * as Log from "../../lib/log.js"
import { addon } from "../../platform/native.js"
import type { ReapedStatus } from "../../platform/native.js"
import { listenScoped } from "../../platform/signalListener.js"
import type { ProcessRegistryShape } from "../../services/ProcessRegistry.js"
import { ProcessRegistry } from "../../services/ProcessRegistry.js"
import type { DrainReport } from "../../services/Reaper.js"
import { Reaper } from "../../services/Reaper.js"
import * as Metrics from "../telemetry/metrics.js"
import type { ProcEntry } from "./procTable.js"
import { descendantsOf, readProcTable } from "./procTable.js"

/** A round also runs without SIGCHLD, in case one was coalesced away or arrived mid-round. */
const SAFETY_TICK = Duration.seconds(1)
/** When a zombie its owner has yet to collect hides the others, look again soon. */
const BLOCKED_RETRY = Duration.millis(10)
/** How often the drain looks whether the orphans are gone (a grandchild's death sends us nothing). */
const DRAIN_POLL = Duration.millis(50)

interface Round {
  readonly reaped: ReadonlyArray<ReapedStatus>
  /** Stopped at a zombie the ProcessRegistry owns: any zombie behind it is left for the next round. */
  readonly blocked: boolean
}

/**
 * Reaps every exited child that nobody owns. waitid(WNOWAIT) names one exited child without
 * reaping it; it is ours to reap unless the ProcessRegistry owns it, in which case the round stops
 * (the kernel names the same child until its owner collects it). One syscall pair per zombie and no
 * /proc reads, so 5,000 orphans cost what they cost tini.
 */
const reapRound = (registry: ProcessRegistryShape): Round => {
  const reaped: Array<ReapedStatus> = []
  for (;;) {
    let status: ReapedStatus | null
    try {
      const pid = addon.waitableChild()
      if (pid === 0) return { reaped, blocked: false }
      if (registry.owns(pid)) return { reaped, blocked: true }
      status = addon.reap(pid)
    } catch {
      return { reaped, blocked: true }
    }
    if (status === null) return { reaped, blocked: true }
    reaped.push(status)
  }
}

const logReaped = (reaped: ReadonlyArray<ReapedStatus>) =>
  Effect.andThen(
    Effect.forEach(reaped, (s) =>
      Log.debug("spawn_orphan_reaped", {
        pid: s.pid,
        signaled: s.signal !== null,
        exit_status: s.code ?? -1,
        code: s.code,
        signal: s.signal
      }), { discard: true }),
    reaped.length === 0 ? Effect.void : Metric.update(Metrics.orphansReaped, reaped.length)
  )

const signalEach = (targets: ReadonlyArray<ProcEntry>, signal: NodeJS.Signals): number =>
  targets.filter((p) => {
    try {
      process.kill(p.pid, signal)
      return true
    } catch {
      return false
    }
  }).length

/** kill(-1): every process of the PID namespace but PID 1. Only ever called by PID 1 of its own namespace. */
const signalNamespace = (signal: NodeJS.Signals) =>
  Effect.suspend(() => {
    try {
      process.kill(-1, signal)
      return Effect.void
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ESRCH"
        ? Effect.void
        : Log.error("spawn_orphan_kill_failed", { signal, error: e })
    }
  })

/**
 * Child subreaper when not PID 1, so orphans come to us under `docker run --init`, in a shared
 * PID namespace, and in tests. Phase 1 runs for the life of the layer: a round on every SIGCHLD
 * (a sliding queue of one coalesces a burst into one round) and on a slow safety tick.
 *
 * Phase 2, `drain`, is not run by releasing the layer: the spec wants it after the listener is
 * closed. The main program gets that order by registering
 * `Effect.addFinalizer(() => reaper.drain(grace))` right after it acquires the Reaper and before it
 * acquires the Listener (finalizers run in reverse), or by calling `drain` after the listener's
 * scope closed.
 */
export const ReaperLive: Layer.Layer<Reaper, never, ProcessRegistry> = Layer.effect(
  Reaper,
  Effect.gen(function*() {
    const registry = yield* ProcessRegistry
    if (process.pid !== 1) {
      yield* Effect.try(() => addon.setChildSubreaper()).pipe(
        Effect.andThen(Log.info("reaper_subreaper_registered", { pid: process.pid })),
        Effect.catch((e) => Log.warn("reaper_subreaper_failed", { error: e.cause }))
      )
    }

    // Every reap, by phase 1 or by the drain, so a drain can report what it reaped whoever did it.
    let reapedTotal = 0
    const round = Effect.flatMap(Effect.sync(() => reapRound(registry)), (r) => {
      reapedTotal += r.reaped.length
      return Effect.as(logReaped(r.reaped), r)
    })
    const reapOrphans = Effect.map(round, (r) => r.reaped.length)

    /** Whether the round was blocked; a failure is logged and counts as blocked, so it is retried soon. */
    const guardedRound = round.pipe(
      Effect.map((r) => r.blocked),
      Effect.catchCause((cause) => Effect.as(Log.error("spawn_wait4_orphan_failed", { cause }), true))
    )
    const kicks = yield* Queue.sliding<void>(1)
    const kick = Queue.offer(kicks, undefined)
    yield* listenScoped("SIGCHLD", () => void Queue.offerUnsafe(kicks, undefined))
    // The safety tick is a kick of its own: racing a fresh timer against every SIGCHLD cost more than
    // the reaping did (5,000 orphans, bench/orphans.ts).
    yield* Effect.forkScoped(Effect.forever(Effect.delay(kick, SAFETY_TICK)))
    /** A round; while one is blocked, another after BLOCKED_RETRY, kick or none. */
    const roundUntilClear: Effect.Effect<void> = Effect.flatMap(
      guardedRound,
      (blocked) =>
        blocked ? Effect.andThen(Effect.sleep(BLOCKED_RETRY), Effect.suspend(() => roundUntilClear)) : Effect.void
    )
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(roundUntilClear, Queue.take(kicks))))

    /** Reaps what is ready, then lists the descendants still there (owned pids aside). */
    const sweep = Effect.andThen(
      round,
      Effect.try(() => descendantsOf(process.pid, readProcTable()).filter((p) => !registry.owns(p.pid))).pipe(
        Effect.catch((e) => Effect.as(Log.warn("orphan_scan_failed", { error: e.cause }), []))
      )
    )
    const living = (entries: ReadonlyArray<ProcEntry>) => entries.filter((p) => p.state !== "Z")

    /** Sweeps until nothing is left or `bound` passes; what is left then. */
    const sweepUntilGone = (bound: Duration.Duration) => {
      const poll: Effect.Effect<Array<ProcEntry>> = Effect.flatMap(
        sweep,
        (left) =>
          left.length === 0
            ? Effect.succeed(left)
            : Effect.andThen(Effect.sleep(DRAIN_POLL), Effect.suspend(() => poll))
      )
      return poll.pipe(
        Effect.timeoutOption(bound),
        Effect.flatMap(Option.match({ onSome: Effect.succeed, onNone: () => sweep }))
      )
    }

    /**
     * The remaining processes get `signal`: as PID 1 of its own PID namespace, every one of them
     * (kill(-1)); run any other way (subreaper, tests, development), only clawkerd's own descendants,
     * never anyone else's processes. The count is of the descendants that were alive.
     */
    const signalRemaining = (left: ReadonlyArray<ProcEntry>, signal: NodeJS.Signals) =>
      process.pid === 1
        ? Effect.as(signalNamespace(signal), living(left).length)
        : Effect.sync(() => signalEach(living(left), signal))

    let lastDrain = Option.none<DrainReport>()

    /**
     * The spec's phase 2: reap what exits by itself for `grace`; then SIGTERM to what is left, SIGKILL a
     * grace later, and a grace after that give up (logged; the exit code 0 becomes 1). Over as soon as
     * nothing is left. Interruptible so that its timeouts can cut what they race even when the caller
     * is a finalizer (uninterruptible): the drain is bounded by itself.
     */
    const drain = (grace: Duration.Duration) =>
      Effect.interruptible(Effect.gen(function*() {
        const reapedBefore = reapedTotal
        const before = yield* sweep
        yield* Log.info("orphan_drain_started", { orphans: before.length, grace })
        let terminated = 0
        let killed = 0
        let left = before.length === 0 ? before : yield* sweepUntilGone(grace)
        if (left.length > 0) {
          yield* Log.warn("spawn_orphan_drain_timeout", { grace, orphans: left.length })
          terminated = yield* signalRemaining(left, "SIGTERM")
          left = yield* sweepUntilGone(grace)
        }
        if (left.length > 0) {
          yield* Log.warn("spawn_orphan_killed", { grace, orphans: left.length })
          killed = yield* signalRemaining(left, "SIGKILL")
          left = yield* sweepUntilGone(grace)
        }
        if (left.length > 0) {
          yield* Log.error("spawn_orphan_drain_giveup", {
            survivors: left.map((p) => ({ pid: p.pid, ppid: p.ppid, state: p.state }))
          })
        }
        const report: DrainReport = {
          reaped: reapedTotal - reapedBefore,
          terminated,
          killed,
          survivors: left.length,
          gaveUp: left.length > 0
        }
        lastDrain = Option.some(report)
        yield* Log.info("orphan_drain_done", { ...report })
        return report
      }))

    return { reapOrphans, drain, lastDrain: Effect.sync(() => lastDrain) }
  })
)
