import { Context, Effect, Layer, Logger, References } from "effect"
import { LoggingTo } from "../../src/layers/logging/Logging.js"

export interface LogRecord {
  readonly event: string
  readonly level: string
  readonly [field: string]: unknown
}

/** A JSON logger that keeps its lines in memory, the same format the file gets. */
export const captureLogs = (agent = "dev", project = "demo") => {
  const lines: Array<string> = []
  const layer: Layer.Layer<never> = LoggingTo(
    { agent, project, logDir: "/nonexistent", logLevel: "All", logStderr: false },
    (line) => lines.push(line)
  )
  const records = () => lines.map((l) => JSON.parse(l) as LogRecord)
  const events = (event: string) => records().filter((r) => r.event === event)
  return { layer, lines, records, events }
}

/**
 * Runs `body` with a fresh log capture provided to all of it. Effect 4: a logger layer provided to one effect
 * (`Effect.provide(logs.layer)`) applies to that effect only; in Effect 3 `Logger.replace` set a FiberRef for the
 * rest of the enclosing scope, so later calls on the same fiber were captured too.
 */
export const withCapturedLogs = <A, E, R>(
  body: (logs: ReturnType<typeof captureLogs>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const logs = captureLogs()
    return Effect.provide(body(logs), logs.layer)
  })

/**
 * A fresh log capture installed on the current fiber for the rest of its scope, for tests whose body
 * calls a service that logs on the caller's fiber (Effect 4's `Effect.updateServiceScoped`; the layer
 * alone would only reach what it is provided to).
 */
export const captureLogsScoped = Effect.gen(function*() {
  const logs = captureLogs()
  const context = yield* Layer.build(logs.layer)
  yield* Effect.updateServiceScoped(Logger.CurrentLoggers, () => Context.get(context, Logger.CurrentLoggers))
  yield* Effect.updateServiceScoped(References.MinimumLogLevel, () => Context.get(context, References.MinimumLogLevel))
  return logs
})
