import { Effect, Layer, Option } from "effect"
import { loadDaemonConfig, loadLoggingSettings, loadTelemetrySettings } from "../layers/config/DaemonConfigLive.js"
import { DaemonLayer } from "../layers/DaemonLayer.js"
import { LoggingLive, LoggingTo } from "../layers/logging/Logging.js"
import { StrayErrorsLive } from "../layers/logging/StrayErrorsLive.js"
import type { TelemetryIdentity } from "../layers/telemetry/OtlpLive.js"
import { EXIT_CONFIG, EXIT_TRANSIENT, withFailure } from "../lib/exitCodes.js"
import { formatHostPort } from "../lib/hostPort.js"
import * as Log from "../lib/log.js"
import { hardenSelf } from "../platform/execShim.js"
import { addon } from "../platform/native.js"
import { DaemonConfig } from "../services/DaemonConfig.js"
import type { LoggingSettings, TelemetrySettings } from "../services/DaemonConfig.js"
import { ExitRequest } from "../services/ExitRequest.js"
import { Listener } from "../services/Listener.js"
import { MemoryReclaim } from "../services/MemoryReclaim.js"
import type { DrainReport } from "../services/Reaper.js"
import { Reaper } from "../services/Reaper.js"
import { ShutdownSignal } from "../services/ShutdownSignal.js"
import { Supervisor } from "../services/Supervisor.js"
import { packageVersion } from "./version.js"

/** Why the running daemon woke up: the first of these wins the race. */
type WakeUp =
  | { readonly _tag: "signal"; readonly signal: NodeJS.Signals }
  | { readonly _tag: "child"; readonly code: number }
  | { readonly _tag: "fatal"; readonly message: string }
  | { readonly _tag: "requested"; readonly code: number; readonly settle: Effect.Effect<void> }

/**
 * Printed once to stderr for a boot failure (the operator reads this line first), and logged as the
 * reference's event for its step (`config_error` for the environment, which the reference only prints).
 */
const reportBootFailure = (
  message: string,
  code: number,
  event = "config_error",
  fields: Readonly<Record<string, unknown>> = {}
) =>
  Effect.gen(function*() {
    yield* Effect.sync(() =>
      process.stderr.write(`clawkerd: ${code === EXIT_CONFIG ? "configuration error" : "startup failed"}: ${message}\n`)
    )
    yield* Log.error(event, { ...fields, error: message, exit_code: code })
    return code
  })

/** A boot step failed: the stderr line, then the `shutdown` line. */
const bootFailed = (message: string, code: number, event?: string, fields?: Readonly<Record<string, unknown>>) =>
  Effect.tap(
    reportBootFailure(message, code, event, fields),
    () => Log.error("shutdown", { error: message, exit_code: code })
  )

/** How the run ended, before the teardown: the code, and what went wrong (a listener fatal turns a 0 into 1). */
interface Ending {
  readonly code: number
  readonly fatal: string | undefined
  /** The run did not end cleanly (a failed spawn): the `shutdown` line is an Error naming it. */
  readonly error: string | undefined
  /** Read after the teardown, which runs the orphan drain. */
  readonly lastDrain: Effect.Effect<Option.Option<DrainReport>>
}

/**
 * The spec's exit code (supervisor-register-lifecycle.md §8): the run's code, except that a 0 becomes 1
 * after a listener fatal or an orphan drain that gave up. Logged as the `shutdown` line.
 */
const finish = (ending: Ending) =>
  Effect.gen(function*() {
    const drain = yield* ending.lastDrain
    const failure = ending.fatal !== undefined
      ? `listener fatal: ${ending.fatal}`
      : Option.isSome(drain) && drain.value.gaveUp
      ? `orphan drain gave up with ${drain.value.survivors} process(es) left`
      : undefined
    const code = withFailure(ending.code, failure)
    const error = failure ?? ending.error
    yield* error === undefined
      ? Log.info("shutdown", { exit_code: code })
      : Log.error("shutdown", { error, exit_code: code })
    return code
  })

/** The running daemon: wait for the first wake-up event, stop the user CMD as needed, say how it ended. */
export const serve = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const listener = yield* Listener
  const supervisor = yield* Supervisor
  const shutdown = yield* ShutdownSignal
  const exitRequest = yield* ExitRequest
  const { lastDrain } = yield* Reaper
  const memory = yield* MemoryReclaim
  yield* Log.info("daemon_idle", { addr: formatHostPort(listener.address) })
  // The boot is a burst like a Session: it grew the young generation and left pages V8 and glibc keep
  // for reuse, ~8 MiB of an idle daemon's RSS (bench/memory.ts), given back once it is quiet.
  yield* memory.settled

  const wakeUps: Array<Effect.Effect<WakeUp>> = [
    Effect.map(shutdown.received, (signal) => ({ _tag: "signal", signal })),
    Effect.map(supervisor.exited, (code) => ({ _tag: "child", code })),
    Effect.catch(listener.fatal, (e) => Effect.succeed({ _tag: "fatal", message: e.message })),
    Effect.map(exitRequest.requested, ({ code, settle }) => ({ _tag: "requested", code, settle }))
  ]
  const wake = yield* Effect.raceAll(wakeUps)

  /** With a running child, every way out goes through stop(grace); its code is the child's. */
  const stopChild = Effect.map(supervisor.stop(config.stopGrace), Option.getOrUndefined)

  const ended = (code: number, fatal?: string, error?: string): Ending => ({ code, fatal, error, lastDrain })
  switch (wake._tag) {
    case "child":
      yield* Log.info("main_child_exited", { exit_code: wake.code })
      return ended(wake.code)
    case "signal": {
      const code = yield* stopChild
      if (code === undefined) {
        yield* Log.info("shutdown_before_spawn", { signal: wake.signal })
        return ended(EXIT_TRANSIENT)
      }
      return ended(code)
    }
    case "fatal":
      yield* Log.error("listener_fatal_received", { error: wake.message })
      return ended((yield* stopChild) ?? EXIT_TRANSIENT, wake.message)
    case "requested": {
      // The asking Session's Stop first: its last reply reaches the CP before anything shuts down.
      yield* wake.settle
      // AgentReady asks for the exit after a failed spawn, once its Error is out.
      const spawnFailure = yield* supervisor.spawnFailure
      if (Option.isSome(spawnFailure)) {
        yield* Log.info("main_child_exited", { exit_code: EXIT_TRANSIENT, spawn_error: spawnFailure.value })
        return ended(EXIT_TRANSIENT, undefined, `spawn user CMD: ${spawnFailure.value}`)
      }
      yield* Log.info("command_requested_exit", { exit_code: wake.code })
      yield* stopChild
      return ended(wake.code)
    }
  }
})

/**
 * The daemon as one scoped program whose value is the exit code. Acquiring DaemonLayer is the boot;
 * closing its scope is the teardown, in reverse (see DaemonLayer). Boot failures map to the spec's
 * exit codes here and nowhere else.
 */
const daemon = (userCmd: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    yield* Log.info("boot", {
      pid: process.pid,
      version: packageVersion(),
      user_cmd: userCmd,
      node_flags: process.execArgv
    })
    // Before any child can exist: inherited fds close-on-exec, not dumpable, no core file (see execShim.ts).
    yield* Effect.try(hardenSelf).pipe(
      Effect.catch((e) => Log.error("process_hardening_failed", { error: String(e.cause) }))
    )
    return yield* serve.pipe(Effect.provide(DaemonLayer(userCmd)))
  }).pipe(
    Effect.scoped,
    Effect.flatMap(finish),
    Effect.catchTags({
      DaemonConfigError: (e) => bootFailed(e.message, EXIT_CONFIG),
      BootstrapError: (e) => bootFailed(e.message, EXIT_CONFIG, "bootstrap_read_failed", { file: e.file }),
      UserResolveError: (e) => bootFailed(e.message, EXIT_CONFIG, "resolve_user_failed", { user: e.spec }),
      ListenerStartError: (e) =>
        bootFailed(e.message, e.kind === "bind" ? EXIT_TRANSIENT : EXIT_CONFIG, "clawkerd_listener_start_failed")
    })
  )

/** Used only when the logging settings themselves are unreadable: JSON lines to stderr. */
const stderrLogging = (): Layer.Layer<never> =>
  LoggingTo(
    {
      agent: process.env.CLAWKER_AGENT ?? "",
      project: process.env.CLAWKER_PROJECT ?? "",
      logDir: "/",
      logLevel: "Info",
      logStderr: true
    } satisfies LoggingSettings,
    (line) => process.stderr.write(line)
  )

/** The OTLP exporters, loaded only when an endpoint is set: a container without a collector never evaluates them. */
const telemetryLayer = (telemetry: TelemetrySettings, identity: TelemetryIdentity): Layer.Layer<never> =>
  telemetry.endpoint === undefined
    ? Layer.empty
    : Layer.unwrap(
      Effect.map(
        Effect.promise(() => import("../layers/telemetry/OtlpLive.js")),
        ({ OtlpLive }) => OtlpLive(telemetry, identity)
      )
    )

export const main = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.gen(function*() {
    // First, before anything can write to a terminal whose foreground the user CMD will own.
    addon.ignoreTtyStops()
    const settings = yield* Effect.result(loadLoggingSettings)
    if (settings._tag === "Failure") {
      // Every mistake at once, not only the logging settings' ones.
      const everything = yield* Effect.result(loadDaemonConfig(argv))
      const message = everything._tag === "Failure" ? everything.failure.message : settings.failure.message
      return yield* reportBootFailure(message, EXIT_CONFIG).pipe(Effect.provide(stderrLogging()))
    }
    const telemetry = yield* loadTelemetrySettings
    const identity = { agent: settings.success.agent, project: settings.success.project, version: packageVersion() }
    return yield* daemon(argv).pipe(
      Effect.provide(StrayErrorsLive),
      // The OTLP logger joins the JSON one, and its last flush comes after the daemon's teardown.
      Effect.provide(telemetryLayer(telemetry, identity).pipe(Layer.provideMerge(LoggingLive(settings.success))))
    )
  })
