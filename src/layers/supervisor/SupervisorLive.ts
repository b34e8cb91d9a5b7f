import { Deferred, Duration, Effect, Layer, Option, Result, Semaphore } from "effect"
import { childEnvironment } from "../../lib/childEnv.js"
import { errnoText } from "../../lib/errorText.js"
import { bashExitCode } from "../../lib/exitCodes.js"
import * as Log from "../../lib/log.js"
import { closeInspector } from "../../platform/bootGuard.js"
import { execEnvironment } from "../../platform/execEnvironment.js"
import { lookPath } from "../../platform/lookPath.js"
import { addon } from "../../platform/native.js"
import { listenScoped } from "../../platform/signalListener.js"
import { FORWARDED_SIGNALS, signalNumber } from "../../platform/signals.js"
import { startHoldingTerminal } from "../../platform/terminal.js"
import { AgentState } from "../../services/AgentState.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { ProcessRegistry } from "../../services/ProcessRegistry.js"
import type { SpawnOutcome } from "../../services/Supervisor.js"
import { SpawnError, Supervisor } from "../../services/Supervisor.js"
import type { UserResolveError } from "../../services/UserResolver.js"
import { UserResolver } from "../../services/UserResolver.js"
import type { Launched } from "./launch.js"
import { launch } from "./launch.js"
import { removeStaleReadyFile, touchReadyFile } from "./readyFile.js"
import { planUserCmd } from "./userCmd.js"
import { envForUser } from "./userEnv.js"

/** After SIGKILL, how long stop waits for the exit before it gives up on a process stuck in the kernel. */
const KILL_BOUND = Duration.seconds(5)

const SIGKILL = signalNumber("SIGKILL")

/** kill(2) to the process group; what it threw, if it did. */
const killGroup = (pgid: number, signal: NodeJS.Signals): unknown => {
  try {
    process.kill(-pgid, signal)
    return undefined
  } catch (e) {
    return e
  }
}

/** A kill(2) that failed for another reason than the group being gone (ESRCH, which is no failure), logged as `event`. */
const groupFailed = (
  log: typeof Log.warn,
  event: string,
  pgid: number,
  signal: NodeJS.Signals,
  error: unknown
) =>
  error === undefined || (error as NodeJS.ErrnoException).code === "ESRCH"
    ? Effect.void
    : log(event, { pgid, signo: signalNumber(signal), signal, error: errnoText(error) })

const signalGroup = (pgid: number, signal: NodeJS.Signals, onFailure: [typeof Log.warn, string]) =>
  Effect.suspend(() => groupFailed(onFailure[0], onFailure[1], pgid, signal, killGroup(pgid, signal)))

/**
 * The user CMD as an init supervises its main child. The user is resolved when the layer is
 * built, so a bad CLAWKER_USER fails boot. Spawning is single-shot: a spawn that failed answers
 * every later AgentReady with the same error (the AgentReady handler then asks the daemon to exit 1);
 * once stop was called, spawn refuses.
 *
 * Signals: listeners for FORWARDED_SIGNALS live as long as the layer and send each to the
 * child's process group while it runs (those that arrive while it is launched are held and sent once
 * its pid is known; before that they are dropped, logged at debug); SIGTTIN and
 * SIGTTOU are set to SIG_IGN at construction
 * (the main program may do that earlier at boot with `addon.ignoreTtyStops()`; it is idempotent).
 * Releasing the layer SIGKILLs a group that is still running: the main program is expected to have
 * called stop first, so this only happens on a defect path.
 */
export const SupervisorLive: Layer.Layer<
  Supervisor,
  UserResolveError,
  DaemonConfig | UserResolver | ProcessRegistry | AgentState
> = Layer.effect(
  Supervisor,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const registry = yield* ProcessRegistry
    const agentState = yield* AgentState
    const user = yield* (yield* UserResolver).resolve(config.user)
    const layerScope = yield* Effect.scope
    const run = Effect.runForkWith(yield* Effect.context<never>())
    const lock = yield* Semaphore.make(1)
    /** Held while AgentReady answers; the exit's wake-up waits for it. */
    const answeringLock = yield* Semaphore.make(1)
    const exited = yield* Deferred.make<number>()
    yield* removeStaleReadyFile(config.readyFile)

    yield* Effect.try(() => addon.ignoreTtyStops()).pipe(
      Effect.catch((e) => Log.warn("tty_stop_signals_not_ignored", { error: e.cause }))
    )

    // Read synchronously by the signal listeners, so plain variables rather than Refs.
    let main: Launched | undefined
    let failed: SpawnError | undefined
    let running = false
    let stopping = false

    /**
     * Signals that arrive while the CMD is being launched: it may already run (its status pipe not yet
     * read) and is owed them, so they are held and sent once its pid is known.
     */
    let held: Array<NodeJS.Signals> | undefined

    const sendToGroup = (pgid: number, signal: NodeJS.Signals) => {
      // Sent by the listener itself, not by a forked fiber: the group gets it a scheduler hop sooner
      // (bench/signals.ts); only the log lines wait for a fiber.
      const error = killGroup(pgid, signal)
      run(Effect.andThen(
        groupFailed(Log.warn, "spawn_signal_forward_failed", pgid, signal, error),
        Log.debug("signal_forwarded", { signal, pgid })
      ))
    }

    const forward = (signal: NodeJS.Signals) => {
      if (held !== undefined) return void held.push(signal)
      if (main === undefined || !running) {
        return run(Log.debug("spawn_signal_dropped_no_pgid", { signal, reason: "the user CMD is not running" }))
      }
      sendToGroup(main.pid, signal)
    }

    /** Ends the hold: the held signals go to `pgid`, or, with no CMD started, are dropped (logged). */
    const releaseHeld = (pgid: number | undefined) =>
      Effect.suspend(() => {
        const signals = held ?? []
        held = undefined
        if (pgid !== undefined) return Effect.sync(() => signals.forEach((signal) => sendToGroup(pgid, signal)))
        return Effect.forEach(
          signals,
          (signal) => Log.debug("spawn_signal_dropped_no_pgid", { signal, reason: "the user CMD did not start" }),
          { discard: true }
        )
      })
    yield* Effect.forEach(FORWARDED_SIGNALS, (signal) => listenScoped(signal, forward, { first: true }), {
      discard: true
    })

    const watch = (child: Launched) =>
      Effect.gen(function*() {
        const { code, signal } = yield* Deferred.await(child.exit)
        running = false
        const exitCode = bashExitCode(code, signal)
        yield* Log.info("spawn_main_reaped", {
          pid: child.pid,
          signaled: signal !== null,
          exit_status: code ?? -1,
          code,
          signal,
          exit_code: exitCode
        })
        yield* answeringLock.withPermits(1)(Deferred.succeed(exited, exitCode))
      })

    yield* Effect.addFinalizer(() =>
      main !== undefined && running
        ? Effect.andThen(
          Log.warn("spawn_main_killed_on_release", { pid: main.pid }),
          signalGroup(main.pid, "SIGKILL", [Log.error, "spawn_stop_sigkill_failed"])
        )
        : Effect.void
    )

    const start = (defaultCmd: string) =>
      Effect.gen(function*() {
        // clawkerd's own working directory: the image's WORKDIR (or `docker run -w`), as any init passes on.
        const cwd = process.cwd()
        const env = envForUser(childEnvironment(execEnvironment()), user)
        const plan = yield* Effect.fromResult(Result.mapError(
          planUserCmd(config.userCmd, defaultCmd, (program) => lookPath(program, process.env.PATH, cwd)),
          (message) => new SpawnError({ message })
        ))
        if (plan.routedBecause !== undefined) {
          yield* Log.warn("spawn_argv_routed_to_default_cmd", {
            default_cmd: defaultCmd,
            orig_argv0: config.userCmd[0],
            routed_argv: plan.argv,
            error: plan.routedBecause,
            argv: config.userCmd
          })
        }
        // Opened by a SIGUSR1 before the boot guard listened, it would be a root shell for the user CMD.
        if (closeInspector()) yield* Log.warn("inspector_closed_before_spawn", {})
        held = []
        const { child, foreground } = yield* startHoldingTerminal((foreground) =>
          Effect.map(
            launch({ argv: plan.argv, file: plan.file, user, env, cwd, foreground }, registry),
            (child) => ({ child, foreground })
          )
        ).pipe(Effect.tapError(() => releaseHeld(undefined)))
        main = child
        running = true
        yield* releaseHeld(child.pid)
        yield* Effect.forkIn(watch(child), layerScope)
        yield* Log.info("spawn_started", {
          pid: child.pid,
          pgid: child.pid,
          argv: plan.argv,
          uid: user.uid,
          gid: user.gid,
          groups: user.groups,
          cwd,
          foreground
        })
        yield* touchReadyFile(config.readyFile)
        yield* agentState.markCmdRunning
        return "spawned" as SpawnOutcome
      })

    const spawn = (defaultCmd: string) =>
      lock.withPermits(1)(
        Effect.suspend(() => {
          if (main !== undefined) return Effect.succeed<SpawnOutcome>("already-spawned")
          if (failed !== undefined) return Effect.fail(failed)
          if (stopping) return Effect.fail(new SpawnError({ message: "clawkerd is shutting down" }))
          return Effect.tapError(start(defaultCmd), (e) => Effect.sync(() => (failed = e)))
        })
      ).pipe(Effect.withSpan("clawkerd.supervisor.spawn"))

    /**
     * Over as soon as the main child is reaped: group members that outlive it are the orphan drain's
     * job. SIGKILL to the group only when the main child outlives the grace.
     */
    const terminate = (child: Launched, grace: Duration.Duration) =>
      Effect.gen(function*() {
        yield* Log.info("spawn_stop_sigterm", { pgid: child.pid, grace })
        yield* signalGroup(child.pid, "SIGTERM", [Log.warn, "spawn_stop_sigterm_failed"])
        if (Option.isSome(yield* Effect.timeoutOption(Deferred.await(exited), grace))) return
        yield* Log.warn("spawn_stop_sigkill", { pgid: child.pid, grace })
        yield* signalGroup(child.pid, "SIGKILL", [Log.error, "spawn_stop_sigkill_failed"])
        if (Option.isSome(yield* Effect.timeoutOption(Deferred.await(exited), KILL_BOUND))) return
        yield* Log.error("spawn_main_unkillable", { pid: child.pid, waited: KILL_BOUND })
        yield* Deferred.succeed(exited, bashExitCode(null, SIGKILL))
      })

    const stop = (grace: Duration.Duration) =>
      Effect.gen(function*() {
        const child = yield* lock.withPermits(1)(Effect.sync(() => {
          stopping = true
          return main
        }))
        if (child === undefined) {
          yield* Log.info("spawn_stop_before_run", {})
          return Option.none<number>()
        }
        // Interruptible so the grace timeout can cut the wait even when stop runs in a finalizer.
        if (running) yield* Effect.interruptible(terminate(child, grace))
        return Option.some(yield* Deferred.await(exited))
      })

    return {
      spawn,
      spawned: Effect.sync(() => main !== undefined),
      spawnFailure: Effect.sync(() => Option.fromNullishOr(failed?.message)),
      answering: answeringLock.withPermits(1),
      exited: Deferred.await(exited),
      stop
    }
  })
)
