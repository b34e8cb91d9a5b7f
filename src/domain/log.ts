import { Effect, FiberRef, LogLevel } from "effect"

/**
 * Every log line of clawkerd is an event: the message is the event name and the
 * fields are log annotations, so the JSON logger can put both at top level.
 */
export type EventFields = Readonly<Record<string, unknown>>

/**
 * Below the logger's minimum level an event costs one FiberRef read: annotating first cost a hash
 * map per field, which the Reaper paid for each orphan it logs at debug (bench/orphans.ts).
 */
const emit = (level: LogLevel.LogLevel) => (event: string, fields: EventFields = {}): Effect.Effect<void> =>
  Effect.flatMap(
    FiberRef.get(FiberRef.currentMinimumLogLevel),
    (minimum) =>
      LogLevel.lessThan(level, minimum)
        ? Effect.void
        : Effect.logWithLevel(level, event).pipe(Effect.annotateLogs(fields))
  )

export const debug = emit(LogLevel.Debug)
export const info = emit(LogLevel.Info)
export const warn = emit(LogLevel.Warning)
export const error = emit(LogLevel.Error)
