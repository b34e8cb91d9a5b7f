import { Effect, LogLevel, References } from "effect"

/**
 * Every log line of clawkerd is an event: the message is the event name and the
 * fields are log annotations, so the JSON logger can put both at top level.
 */
export type EventFields = Readonly<Record<string, unknown>>

/**
 * Below the logger's minimum level an event costs one Reference read: annotating first cost a hash
 * map per field, which the Reaper paid for each orphan it logs at debug (bench/orphans.ts).
 */
const emit = (level: LogLevel.Severity) => (event: string, fields: EventFields = {}): Effect.Effect<void> =>
  Effect.flatMap(
    References.MinimumLogLevel,
    (minimum) =>
      LogLevel.isLessThan(level, minimum)
        ? Effect.void
        : Effect.logWithLevel(level)(event).pipe(Effect.annotateLogs(fields))
  )

export const debug = emit("Debug")
export const info = emit("Info")
export const warn = emit("Warn")
export const error = emit("Error")
