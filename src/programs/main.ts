import { Effect, LogLevel } from "effect"
import { EXIT_CONFIG } from "../domain/exitCodes.js"
import * as Log from "../domain/log.js"
import { loadBootstrap } from "../layers/BootstrapStoreLive.js"
import { loadDaemonConfig, loadLoggingSettings } from "../layers/DaemonConfigLive.js"
import { LoggingLive, LoggingTo } from "../layers/Logging.js"
import type { LoggingSettings } from "../services/DaemonConfig.js"

/** Printed once to stderr for a configuration error: the operator reads this line first. */
const reportConfigError = (message: string) =>
  Effect.zipRight(
    Effect.sync(() => process.stderr.write(`clawkerd: configuration error: ${message}\n`)),
    Log.error("config_error", { error: message })
  )

const fallbackLogging: LoggingSettings = {
  agent: process.env.CLAWKER_AGENT ?? "",
  project: process.env.CLAWKER_PROJECT ?? "",
  logDir: "/",
  logLevel: LogLevel.Info,
  logStderr: true
}

const boot = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const config = yield* loadDaemonConfig(argv)
    yield* Log.info("boot", { pid: process.pid, user_cmd: config.userCmd })
    yield* loadBootstrap(config.bootstrapDir)
    yield* Log.info("daemon_idle", {})
    return 0
  })

/**
 * The daemon as one program: its value is the exit code. Failures are mapped to the spec's exit
 * codes here and nowhere else.
 */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const settings = yield* Effect.either(loadLoggingSettings)
    if (settings._tag === "Left") {
      return yield* reportConfigError(settings.left.message).pipe(
        Effect.as(EXIT_CONFIG),
        Effect.provide(LoggingTo(fallbackLogging, (line) => process.stderr.write(line)))
      )
    }
    return yield* boot(argv).pipe(
      Effect.catchTags({
        DaemonConfigError: (e) => reportConfigError(e.message).pipe(Effect.as(EXIT_CONFIG)),
        BootstrapError: (e) => reportConfigError(e.message).pipe(Effect.as(EXIT_CONFIG))
      }),
      Effect.provide(LoggingLive(settings.right))
    )
  })
