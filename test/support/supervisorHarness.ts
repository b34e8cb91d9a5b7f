/*
 * A stand-in for the daemon's main program around the Supervisor, for the PID 1 tests (the
 * issue-7 e2e tests run the real daemon instead). Config from the environment as clawkerd reads
 * it, the user CMD from argv; JSON log lines on stdout; exits with the user CMD's code.
 *   HARNESS_DEFAULT_CMD   the AgentReady default_cmd ("" when unset)
 *   HARNESS_SPAWNS        how many AgentReady spawns to request at once (default 1)
 *   CLAWKERD_LOG_LEVEL    as for the daemon (debug shows spawn_orphan_reaped)
 * On a spawn failure it logs `harness_spawn_failed` and exits 1 (the daemon would stay idle).
 */
import type { Duration, LogLevel } from "effect"
import { Effect, Option, Result } from "effect"
import { loadDaemonConfig } from "../../src/layers/config/DaemonConfigLive.js"
import { LoggingTo } from "../../src/layers/logging/Logging.js"
import * as Log from "../../src/lib/log.js"
import { Reaper } from "../../src/services/Reaper.js"
import { ShutdownSignal } from "../../src/services/ShutdownSignal.js"
import { Supervisor } from "../../src/services/Supervisor.js"
import { supervisionLayers } from "./supervisorLayers.js"

const program = (grace: Duration.Duration) =>
  Effect.gen(function*() {
    const supervisor = yield* Supervisor
    const reaper = yield* Reaper
    const shutdown = yield* ShutdownSignal
    const defaultCmd = process.env.HARNESS_DEFAULT_CMD ?? ""
    const spawns = Number(process.env.HARNESS_SPAWNS ?? "1")
    const outcomes = yield* Effect.all(
      Array.from({ length: spawns }, () => Effect.result(supervisor.spawn(defaultCmd))),
      { concurrency: "unbounded" }
    )
    yield* Log.info("harness_spawned", {
      outcomes: outcomes.map(Result.match({ onFailure: (e) => e.message, onSuccess: String }))
    })
    if (!(yield* supervisor.spawned)) {
      yield* Log.info("harness_spawn_failed", {})
      return 1
    }
    const code = yield* Effect.raceFirst(
      supervisor.exited,
      Effect.flatMap(shutdown.received, () => Effect.map(supervisor.stop(grace), Option.getOrElse(() => 1)))
    )
    const report = yield* reaper.drain(grace)
    yield* Log.info("harness_exit", { exit_code: code, drain: report })
    return code
  })

const toStdout = (logLevel: LogLevel.LogLevel) =>
  LoggingTo(
    { agent: "harness", project: "", logDir: "/", logLevel, logStderr: false },
    (line) => process.stdout.write(line)
  )

const main = Effect.gen(function*() {
  const config = yield* Effect.result(loadDaemonConfig(process.argv.slice(2)))
  if (Result.isFailure(config)) {
    return yield* Effect.as(
      Log.error("harness_config_error", { error: config.failure.message }).pipe(Effect.provide(toStdout("Info"))),
      2
    )
  }
  return yield* program(config.success.stopGrace).pipe(
    Effect.provide(supervisionLayers(config.success)),
    Effect.provide(toStdout(config.success.logLevel))
  )
})

Effect.runPromise(main).then((code) => process.exit(code), (defect: unknown) => {
  console.error(defect)
  process.exit(70)
})
