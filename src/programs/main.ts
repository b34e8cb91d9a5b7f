import type { Layer } from "effect"
import { Effect, Option } from "effect"
import { EXIT_CONFIG, EXIT_TRANSIENT } from "../domain/exitCodes.js"
import { formatHostPort } from "../domain/hostPort.js"
import * as Log from "../domain/log.js"
import { loadLoggingSettings } from "../layers/DaemonConfigLive.js"
import { DaemonLayer } from "../layers/DaemonLayer.js"
import { LoggingLive, LoggingTo } from "../layers/Logging.js"
import { StrayErrorsLive } from "../layers/StrayErrorsLive.js"
import { addon } from "../platform/native.js"
import { DaemonConfig } from "../services/DaemonConfig.js"
import type { LoggingSettings } from "../services/DaemonConfig.js"
import { ExitRequest } from "../services/ExitRequest.js"
import { Listener } from "../services/Listener.js"
import { ShutdownSignal } from "../services/ShutdownSignal.js"
import { Supervisor } from "../services/Supervisor.js"

/** Why the running daemon woke up: the first of these wins the race. */
type WakeUp =
  | { readonly _tag: "signal"; readonly signal: NodeJS.Signals }
  | { readonly _tag: "child"; readonly code: number }
  | { readonly _tag: "fatal"; readonly message: string }
  | { readonly _tag: "requested"; readonly code: number }

/** Printed once to stderr for a configuration error: the operator reads this line first. */
const reportBootFailure = (message: string, code: number) =>
  Effect.gen(function*() {
    yield* Effect.sync(() =>
      process.stderr.write(`clawkerd: ${code === EXIT_CONFIG ? "configuration error" : "startup failed"}: ${message}\n`)
    )
    yield* Log.error(code === EXIT_CONFIG ? "config_error" : "startup_failed", { error: message, exit_code: code })
    return code
  })

/** The running daemon: wait for the first wake-up event, stop the user CMD as needed, return the exit code. */
const serve = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const listener = yield* Listener
  const supervisor = yield* Supervisor
  const shutdown = yield* ShutdownSignal
  const exitRequest = yield* ExitRequest
  yield* Log.info("daemon_idle", { addr: formatHostPort(listener.address) })

  const wakeUps: Array<Effect.Effect<WakeUp>> = [
    Effect.map(shutdown.received, (signal) => ({ _tag: "signal", signal })),
    Effect.map(supervisor.exited, (code) => ({ _tag: "child", code })),
    Effect.catch(listener.fatal, (e) => Effect.succeed({ _tag: "fatal", message: e.message })),
    Effect.map(exitRequest.requested, (code) => ({ _tag: "requested", code }))
  ]
  const wake = yield* Effect.raceAll(wakeUps)

  /** With a running child, every way out goes through stop(grace); its code is the child's. */
  const stopChild = Effect.map(supervisor.stop(config.stopGrace), Option.getOrUndefined)

  switch (wake._tag) {
    case "child":
      yield* Log.info("main_child_exited", { exit_code: wake.code })
      return wake.code
    case "signal": {
      const code = yield* stopChild
      if (code === undefined) {
        yield* Log.warn("shutdown_before_spawn", { signal: wake.signal })
        return EXIT_TRANSIENT
      }
      return code
    }
    case "fatal":
      yield* Log.error("listener_fatal_received", { error: wake.message })
      return (yield* stopChild) ?? EXIT_TRANSIENT
    case "requested":
      yield* Log.info("command_requested_exit", { exit_code: wake.code })
      yield* stopChild
      return wake.code
  }
})

/**
 * The daemon as one scoped program whose value is the exit code. Acquiring DaemonLayer is the boot;
 * closing its scope is the teardown, in reverse (see DaemonLayer). Boot failures map to the spec's
 * exit codes here and nowhere else.
 */
const daemon = (userCmd: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    yield* Log.info("boot", { pid: process.pid, user_cmd: userCmd })
    return yield* serve.pipe(Effect.provide(DaemonLayer(userCmd)))
  }).pipe(
    Effect.scoped,
    Effect.catchTags({
      DaemonConfigError: (e) => reportBootFailure(e.message, EXIT_CONFIG),
      BootstrapError: (e) => reportBootFailure(e.message, EXIT_CONFIG),
      UserResolveError: (e) => reportBootFailure(e.message, EXIT_CONFIG),
      ListenerStartError: (e) => reportBootFailure(e.message, e.kind === "bind" ? EXIT_TRANSIENT : EXIT_CONFIG)
    }),
    Effect.tap((code) => Log.info("shutdown", { exit_code: code }))
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

export const main = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.gen(function*() {
    // First, before anything can write to a terminal whose foreground the user CMD will own.
    addon.ignoreTtyStops()
    const settings = yield* Effect.result(loadLoggingSettings)
    if (settings._tag === "Failure") {
      return yield* reportBootFailure(settings.failure.message, EXIT_CONFIG).pipe(Effect.provide(stderrLogging()))
    }
    return yield* daemon(argv).pipe(
      Effect.provide(StrayErrorsLive),
      Effect.provide(LoggingLive(settings.success))
    )
  })
