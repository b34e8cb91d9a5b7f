import { Cause, Duration, Effect, Layer, Logger, Predicate, References } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { createStream, type RotatingFileStream } from "rotating-file-stream"
import { LOG_BACKUPS, LOG_FILE, LOG_MAX_AGE_DAYS, LOG_QUEUE_LIMIT, LOG_ROTATE_SIZE } from "../../lib/constants.js"
import { errorMessage } from "../../lib/errorText.js"
import { eventMessage } from "../../lib/eventMessages.js"
import { waitAtMost } from "../../lib/fibers.js"
import type { LoggingSettings } from "../../services/DaemonConfig.js"

/**
 * Renders values that JSON cannot, without ever expanding a secret or a payload. Runs before
 * JSON.stringify so Duration's own toJSON does not win.
 */
const plain = (value: unknown): unknown => {
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
  // Durations as the reference's: a number of milliseconds.
  if (Duration.isDuration(value)) return Duration.toMillis(value)
  if (value instanceof Error) return value.message
  return value
}

const LEVELS: Record<string, string> = {
  All: "all",
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warn: "warn",
  Error: "error",
  Fatal: "fatal",
  None: "none"
}

/**
 * One JSON object per line. `time`, `level`, `event`, `message`, `agent` and `project` come first and an
 * annotation can never overwrite them, but `message`: an event that carries its own text (grpc_log) says it.
 */
export const jsonLogger = (settings: LoggingSettings, write: (line: string) => void): Logger.Logger<unknown, void> =>
  Logger.make(({ cause, date, fiber, logLevel, message }) => {
    const parts = Array.isArray(message) ? message : [message]
    const [first, ...rest] = parts
    const event = Predicate.isString(first) ? first : "log"
    const annotations = fiber.getRef(References.CurrentLogAnnotations)
    const record: Record<string, unknown> = {
      time: date.toISOString(),
      level: LEVELS[logLevel] ?? logLevel.toLowerCase(),
      event,
      message: plain(annotations.message ?? eventMessage(event)),
      agent: settings.agent,
      project: settings.project
    }
    for (const [key, value] of Object.entries(annotations)) {
      if (!(key in record)) record[key] = plain(value)
    }
    const detail = Predicate.isString(first) ? rest : parts
    if (detail.length > 0) record.detail = detail
    if (cause.reasons.length > 0) record.cause = Cause.pretty(cause)
    let line: string
    try {
      line = JSON.stringify(record, (_key, value) => plain(value))
    } catch {
      line = JSON.stringify({ time: record.time, level: record.level, event: record.event, unserializable: true })
    }
    write(line + "\n")
  })

/** Backups past the age limit go; rotation keeps the count, this keeps old ones from lingering. */
const pruneOldBackups = (dir: string, now: number) => {
  const limit = now - LOG_MAX_AGE_DAYS * 24 * 3600 * 1000
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(`${LOG_FILE}.`)) continue
    const file = path.join(dir, name)
    if (fs.statSync(file).mtimeMs < limit) fs.rmSync(file, { force: true })
  }
}

interface Sink {
  readonly write: (line: string) => void
  readonly close: Effect.Effect<void>
}

/**
 * `mkdir -p`, one level at a time from the root, so it ends after as many steps as the path has parts.
 * Node's recursive mkdirSync spins forever where mkdir answers ENOENT for a parent that exists (/proc).
 */
const makeDirectory = (dir: string, mode: number) => {
  const parts = path.resolve(dir).split("/").filter((part) => part !== "")
  let current = "/"
  for (const part of parts) {
    current = path.join(current, part)
    try {
      fs.mkdirSync(current, { mode })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new Error(`cannot create log directory ${dir}: mkdir ${current}: ${(e as Error).message}`)
      }
    }
  }
  if (!fs.statSync(current).isDirectory()) throw new Error(`log directory ${dir} is not a directory`)
}

const stderrLine = (line: string) => {
  process.stderr.write(line)
}

/**
 * A warning about the log itself, which the sink writes without going through the logger: in the
 * logger's shape, `time`, `level`, `event`, `agent` and `project` first.
 */
const sinkWarning = (settings: LoggingSettings, event: string, fields: Record<string, unknown>): string =>
  JSON.stringify({
    time: new Date().toISOString(),
    level: "warn",
    event,
    message: eventMessage(event),
    agent: settings.agent,
    project: settings.project,
    ...fields
  }) + "\n"

/**
 * Bytes of lines per write at most: rotation by size checks between writes, so a file ends at most this
 * far past its size.
 */
export const LOG_CHUNK = 1024 * 1024

/**
 * Lines for `stream`, written as one chunk per turn of the event loop. rotating-file-stream awaits one
 * file write per chunk it is given (chunks of up to LOG_CHUNK here); a chunk per line fell behind a busy
 * daemon (the soak's debug log queued 18 MiB of lines, and RSS climbed with it). What waits, queued in
 * the stream and not yet handed to it, stays under `limit` bytes: beyond it lines are counted and
 * dropped, and the next line that fits is preceded by `droppedLine` of their count.
 */
export const batchedWriter = (
  stream: NodeJS.WritableStream & { readonly writableLength: number },
  limit: number,
  droppedLine: (count: number) => string
) => {
  let pending: Array<string> = []
  let pendingBytes = 0
  let dropped = 0
  let scheduled = false
  const flush = () => {
    scheduled = false
    let chunk = ""
    for (const line of pending) {
      if (chunk.length > 0 && chunk.length + line.length > LOG_CHUNK) {
        stream.write(chunk)
        chunk = ""
      }
      chunk += line
    }
    if (chunk.length > 0) stream.write(chunk)
    pending = []
    pendingBytes = 0
  }
  const queue = (line: string) => {
    pending.push(line)
    pendingBytes += line.length
  }
  const reportDropped = () => {
    if (dropped === 0) return
    queue(droppedLine(dropped))
    dropped = 0
  }
  const write = (line: string) => {
    if (stream.writableLength + pendingBytes + line.length > limit) {
      dropped++
      return
    }
    reportDropped()
    queue(line)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
  /** Everything queued goes to the stream now, with the count of lines dropped since the last one that fit. */
  const drain = () => {
    reportDropped()
    flush()
  }
  return { write, drain }
}

/**
 * The log file sink. Opening or writing it may fail (read-only or full disk); PID 1 must not die
 * of that, so the sink then degrades to stderr and says so once.
 */
const openFileSink = (settings: LoggingSettings): Effect.Effect<Sink> =>
  Effect.sync(() => {
    let stream: RotatingFileStream | undefined
    let failed = false
    const degrade = (reason: string) => {
      if (failed) return
      failed = true
      stream = undefined
      stderrLine(sinkWarning(settings, "log_file_unavailable", { dir: settings.logDir, reason }))
    }
    try {
      makeDirectory(settings.logDir, 0o750)
      fs.accessSync(settings.logDir, fs.constants.W_OK)
      // Classical rotation: rfs asks for the live name with null and for backup n with n.
      const name = (n: number | Date | null) => (n === null ? LOG_FILE : `${LOG_FILE}.${String(n)}`)
      stream = createStream(name, {
        path: settings.logDir,
        size: LOG_ROTATE_SIZE,
        rotate: LOG_BACKUPS,
        mode: 0o640
      })
      stream.on("error", (e) => degrade(e.message))
      stream.on("rotated", () => {
        try {
          pruneOldBackups(settings.logDir, Date.now())
        } catch {
          // Pruning is housekeeping; a failure here must not touch logging itself.
        }
      })
    } catch (e) {
      degrade(errorMessage(e))
    }
    const batched = stream === undefined
      ? undefined
      : batchedWriter(stream, LOG_QUEUE_LIMIT, (count) => sinkWarning(settings, "log_lines_dropped", { count }))
    const write = (line: string) => {
      if (stream !== undefined && batched !== undefined) batched.write(line)
      else stderrLine(line)
    }
    // A finalizer: waitAtMost keeps the bound working in an uninterruptible region.
    const close = Effect.asVoid(waitAtMost(
      Effect.callback<void>((resume) => {
        const s = stream
        if (s === undefined) return resume(Effect.void)
        batched?.drain()
        s.end(() => resume(Effect.void))
      }),
      Duration.seconds(5)
    ))
    return { write, close }
  })

/**
 * Replaces the default logger with the JSON file logger for the life of the scope; on release the
 * file is flushed and closed, so PID 1 loses no line on its way out.
 */
export const LoggingLive = (settings: LoggingSettings): Layer.Layer<never> =>
  Layer.unwrap(
    Effect.gen(function*() {
      const sink = yield* Effect.acquireRelease(openFileSink(settings), (s) => s.close)
      const write = settings.logStderr
        ? (line: string) => {
          sink.write(line)
          stderrLine(line)
        }
        : sink.write
      return Layer.merge(
        Logger.layer([jsonLogger(settings, write)]),
        Layer.succeed(References.MinimumLogLevel, settings.logLevel)
      )
    })
  )

/** For tests and embedding: the JSON logger writing to a function instead of a file. */
export const LoggingTo = (settings: LoggingSettings, write: (line: string) => void): Layer.Layer<never> =>
  Layer.merge(
    Logger.layer([jsonLogger(settings, write)]),
    Layer.succeed(References.MinimumLogLevel, settings.logLevel)
  )
