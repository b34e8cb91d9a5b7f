import * as grpc from "@grpc/grpc-js"
import { Effect, Layer, LogLevel, References } from "effect"
import { format } from "node:util"
import * as Log from "../../lib/log.js"

/** A grpc-js line is its own text: cut there, so a trace of a large frame cannot flood a log line. */
const LINE_LIMIT = 2_000

const SILENT = { error: () => undefined, info: () => undefined, debug: () => undefined }

/** grpc-js's verbosity to match the daemon's level: its debug lines (GRPC_TRACE) only at debug. */
const verbosityFor = (minimum: LogLevel.LogLevel): grpc.logVerbosity => {
  if (LogLevel.isLessThanOrEqualTo(minimum, "Debug")) return grpc.logVerbosity.DEBUG
  if (LogLevel.isLessThanOrEqualTo(minimum, "Info")) return grpc.logVerbosity.INFO
  return grpc.logVerbosity.ERROR
}

/**
 * grpc-js logs through console.error by default: from PID 1 that is the container's stderr, the
 * user's terminal. For the life of the layer its lines are `grpc_log` events of clawkerd's own
 * log instead (its errors as warn, its info and traces as info and debug); before and after, they
 * are dropped, never printed.
 */
export const GrpcLogLive: Layer.Layer<never> = Layer.effectDiscard(
  Effect.gen(function*() {
    const run = Effect.runForkWith(yield* Effect.context<never>())
    const minimum = yield* References.MinimumLogLevel
    const to = (emit: typeof Log.warn) => (message?: unknown, ...rest: Array<unknown>) =>
      void run(emit("grpc_log", { message: format(message, ...rest).slice(0, LINE_LIMIT) }))
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        grpc.setLogger({ error: to(Log.warn), info: to(Log.info), debug: to(Log.debug) })
        grpc.setLogVerbosity(verbosityFor(minimum))
      }),
      () => Effect.sync(() => grpc.setLogger(SILENT))
    )
  })
)
