import { Deferred, Duration, Effect, Layer, Option, Result, Schedule, Semaphore } from "effect"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { bashExitCode } from "../domain/exitCodes.js"
import * as Log from "../domain/log.js"
import { FORWARDED_SIGNALS, signalNumber } from "../domain/signals.js"
import { planUserCmd } from "../domain/userCmd.js"
import { addon } from "../platform/native.js"
import { listenScoped } from "../platform/signalListener.js"
import { AgentState } from "../services/AgentState.js"
import { DaemonConfig } from "../services/DaemonConfig.js"
import { ProcessRegistry } from "../services/ProcessRegistry.js"
import type { SpawnOutcome } from "../services/Supervisor.js"
import { SpawnError, Supervisor } from "../services/Supervisor.js"
import type { UserResolveError } from "../services/UserResolver.js"
import { UserResolver } from "../services/UserResolver.js"
import type { Launched } from "./supervisor/launch.js"
import { launch } from "./supervisor/launch.js"
import { isFoundOnPath } from "./supervisor/onPath.js"
import { holdsTerminal } from "./supervisor/terminal.js"

/** After SIGKILL, how long stop waits for the exit before it gives up on a process stuck in the kernel. */
const KILL_BOUND = Duration.seconds(5)
/** How often stop looks whether the group's last member is gone (there is no event for it). */
const GROUP_POLL = Duration.millis(25)

const SIGKILL = signalNumber("SIGKILL")

/** kill(-pgid, 0): ESRCH once no process (zombies included) is left in the group. */
const groupExists = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH"
  }
}

/** kill(2) to the process group; what it threw, if it did. */
const killGroup = (pgid: number, signal: NodeJS.Signals): unknown => {
  try {
    process.kill(-pgid, signal)
    return undefined
  } catch (e) {
    return e
  }
}

const groupFailed = (pgid: number, signal: NodeJS.Signals, error: unknown) =>
  error === undefined ? Effect.void : Log.debug("signal_group_failed", { pgid, signal, error })

const signalGroup = (pgid: number, signal: NodeJS.Signals) =>
  Effect.suspend(() => groupFailed(pgid, signal, killGroup(pgid, signal)))

/** Created (parents too) or its mtime bumped; a failure is logged and tolerated. */
const touchReadyFile = (file: string) =>
  Effect.tryPromise(async () => {
    await fsp.mkdir(path.dirname(file), { recursive: true })
    const now = new Date()
    const handle = await fsp.open(file, "a")
    try {
      await handle.utimes(now, now)
    } finally {
      await handle.close()
    }
  }).pipe(Effect.catch((e) => Log.warn("ready_file_touch_failed", { path: file, error: e.cause })))

/**
 * The user CMD as an init supervises its main child. The user is resolved when the layer is
 * built, so a bad CLAWKER_USER fails boot. A spawn that fails leaves nothing spawned (the next
 * AgentReady tries again); once stop was called, spawn refuses.
 *
 * Signals: listeners for FORWARDED_SIGNALS live as long as the layer and send each to the
 * child's process group while it runs; SIGTTIN and SIGTTOU are set to SIG_IGN at construction
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
    const exited = yield* Deferred.make<number>()

    yield* Effect.try(() => addon.ignoreTtyStops()).pipe(
      Effect.catch((e) => Log.warn("tty_stop_signals_not_ignored", { error: e.cause }))
    )

    // Read synchronously by the signal listeners, so plain variables rather than Refs.
    let main: Launched | undefined
    let running = false
    let stopping = false

    const forward = (signal: NodeJS.Signals) => {
      if (main === undefined || !running) {
        return run(Log.info("signal_not_forwarded", { signal, reason: "the user CMD is not running" }))
      }
      const pgid = main.pid
      // Sent by the listener itself, not by a forked fiber: the group gets it a scheduler hop sooner
      // (bench/signals.ts); only the log lines wait for a fiber.
      const error = killGroup(pgid, signal)
      run(Effect.andThen(groupFailed(pgid, signal, error), Log.debug("signal_forwarded", { signal, pgid })))
    }
    yield* Effect.forEach(FORWARDED_SIGNALS, (signal) => listenScoped(signal, forward), { discard: true })

    const watch = (child: Launched) =>
      Effect.gen(function*() {
        const { code, signal } = yield* Deferred.await(child.exit)
        running = false
        const exitCode = bashExitCode(code, signal === null ? null : signalNumber(signal))
        yield* Log.info("spawn_main_reaped", { pid: child.pid, code, signal, exit_code: exitCode })
        yield* Deferred.succeed(exited, exitCode)
      })

    yield* Effect.addFinalizer(() =>
      main !== undefined && running
        ? Effect.andThen(
          Log.warn("spawn_main_killed_on_release", { pid: main.pid }),
          signalGroup(main.pid, "SIGKILL")
        )
        : Effect.void
    )

    const start = (defaultCmd: string) =>
      Effect.gen(function*() {
        // clawkerd's own working directory: the image's WORKDIR (or `docker run -w`), as any init passes on.
        const cwd = process.cwd()
        const env: NodeJS.ProcessEnv = { ...process.env, HOME: user.home, USER: user.name, LOGNAME: user.name }
        const plan = yield* Effect.fromResult(Result.mapError(
          planUserCmd(config.userCmd, defaultCmd, (program) => isFoundOnPath(program, env.PATH, cwd)),
          (message) => new SpawnError({ message })
        ))
        if (plan.routedBecause !== undefined) {
          yield* Log.warn("spawn_argv_routed_to_default_cmd", {
            argv: config.userCmd,
            default_cmd: defaultCmd,
            reason: plan.routedBecause
          })
        }
        const foreground = holdsTerminal()
        const child = yield* launch({ argv: plan.argv, user, env, cwd, foreground }, registry)
        main = child
        running = true
        yield* Effect.forkIn(watch(child), layerScope)
        yield* Log.info("spawn_started", {
          argv: plan.argv,
          uid: user.uid,
          gid: user.gid,
          groups: user.groups,
          pid: child.pid,
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
          if (stopping) return Effect.fail(new SpawnError({ message: "clawkerd is shutting down" }))
          return start(defaultCmd)
        })
      )

    /** The group is gone: the main child was reaped and no other member (zombies included) is left. */
    const groupGone = (pgid: number) =>
      Effect.andThen(
        Deferred.await(exited),
        Effect.repeat(Effect.sync(() => groupExists(pgid)), {
          while: (exists) => exists,
          schedule: Schedule.spaced(GROUP_POLL)
        })
      )

    const terminate = (child: Launched, grace: Duration.Duration) =>
      Effect.gen(function*() {
        yield* Log.info("supervisor_stop_sigterm", { pgid: child.pid, grace_ms: Duration.toMillis(grace) })
        yield* signalGroup(child.pid, "SIGTERM")
        if (Option.isSome(yield* Effect.timeoutOption(groupGone(child.pid), grace))) return
        yield* Log.warn("supervisor_stop_sigkill", { pgid: child.pid, grace_ms: Duration.toMillis(grace) })
        yield* signalGroup(child.pid, "SIGKILL")
        if (Option.isSome(yield* Effect.timeoutOption(Deferred.await(exited), KILL_BOUND))) return
        yield* Log.error("spawn_main_unkillable", { pid: child.pid, waited_ms: Duration.toMillis(KILL_BOUND) })
        yield* Deferred.succeed(exited, bashExitCode(null, SIGKILL))
      })

    const stop = (grace: Duration.Duration) =>
      Effect.gen(function*() {
        const child = yield* lock.withPermits(1)(Effect.sync(() => {
          stopping = true
          return main
        }))
        if (child === undefined) return Option.none<number>()
        // Interruptible so the grace timeout can cut the wait even when stop runs in a finalizer.
        if (running || groupExists(child.pid)) yield* Effect.interruptible(terminate(child, grace))
        return Option.some(yield* Deferred.await(exited))
      })

    return {
      spawn,
      spawned: Effect.sync(() => main !== undefined),
      exited: Deferred.await(exited),
      stop
    }
  })
)
