import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Writable } from "node:stream"
import { batchedWriter, LOG_CHUNK, LoggingLive } from "../../src/layers/logging/Logging.js"
import * as Log from "../../src/lib/log.js"
import type { LoggingSettings } from "../../src/services/DaemonConfig.js"
import { tempDir } from "../support/fixtures.js"
import { waitFor } from "../support/wait.js"

const settings = (logDir: string, over: Partial<LoggingSettings> = {}): LoggingSettings => ({
  agent: "dev",
  project: "demo",
  logDir,
  logLevel: "Info",
  logStderr: false,
  ...over
})

const readLines = (file: string) =>
  fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)

/** Runs `effect` with this process's stderr captured; the JSON lines it wrote there. */
const stderrLinesOf = <E>(effect: Effect.Effect<void, E>) =>
  Effect.gen(function*() {
    const written: Array<string> = []
    const original = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk))
      return true
    }) as typeof process.stderr.write
    yield* Effect.ensuring(effect, Effect.sync(() => (process.stderr.write = original)))
    return written.join("").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
  })

describe("JSON file logging", () => {
  it.live("writes one JSON object per line with time, level, event, agent and project, flushed at scope end", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* Effect.promise(() => tempDir()), "logs")
      yield* Effect.all([
        Log.info("boot", { pid: 1, event: "spoofed", agent: "spoofed" }),
        Log.debug("too_quiet"),
        Log.warn("careful", { path: "/x" })
      ]).pipe(Effect.provide(LoggingLive(settings(dir))))
      const lines = readLines(path.join(dir, "clawkerd.log"))
      expect(lines.map((l) => l.event)).toEqual(["boot", "careful"])
      expect(lines[0]).toMatchObject({
        level: "info",
        event: "boot",
        message: "clawkerd booting",
        agent: "dev",
        project: "demo",
        pid: 1
      })
      // An event of someone else's reads as its name.
      expect(lines[1]).toMatchObject({ level: "warn", message: "careful", path: "/x" })
      expect(Date.parse(String(lines[0]!.time))).not.toBeNaN()
      expect(Object.keys(lines[0]!).slice(0, 6)).toEqual(["time", "level", "event", "message", "agent", "project"])
    }))

  it.live("as the reference's lines: durations are numbers of milliseconds; an event's own message (grpc_log's) wins", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => tempDir())
      yield* Effect.all([
        Log.info("session_ended", { duration: Duration.millis(1500) }),
        Log.warn("grpc_log", { message: "Connection dropped" })
      ]).pipe(Effect.provide(LoggingLive(settings(dir))))
      expect(readLines(path.join(dir, "clawkerd.log"))).toMatchObject([
        { event: "session_ended", message: "clawkerd: Session ended", duration: 1500 },
        { event: "grpc_log", message: "Connection dropped" }
      ])
    }))

  it.live("the log level comes from the settings", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => tempDir())
      yield* Effect.all([Log.debug("detail"), Log.info("state")]).pipe(
        Effect.provide(LoggingLive(settings(dir, { logLevel: "Debug" })))
      )
      expect(readLines(path.join(dir, "clawkerd.log")).map((l) => l.level)).toEqual(["debug", "info"])
    }))

  it.live("an unwritable log directory degrades to stderr and says why, without failing", () =>
    Effect.gen(function*() {
      const base = yield* Effect.promise(() => tempDir())
      const blocker = path.join(base, "file")
      fs.writeFileSync(blocker, "")
      const lines = yield* stderrLinesOf(
        Log.info("still_logged").pipe(Effect.provide(LoggingLive(settings(path.join(blocker, "logs")))))
      )
      expect(lines.map((l) => l.event)).toEqual(["log_file_unavailable", "still_logged"])
    }))

  it.live("a log directory under /proc (where mkdir -p would spin) degrades at once, naming the directory", () =>
    Effect.gen(function*() {
      const lines = yield* stderrLinesOf(
        Log.info("still_logged").pipe(Effect.provide(LoggingLive(settings("/proc/clawkerd-logs/deeper"))))
      )
      expect(lines.map((l) => l.event)).toEqual(["log_file_unavailable", "still_logged"])
      expect(lines[0]?.reason).toMatch(
        /^cannot create log directory \/proc\/clawkerd-logs\/deeper: mkdir \/proc\/clawkerd-logs: /
      )
    }))

  it.live("rotates at 50 MB keeping numbered backups", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => tempDir())
      const filler = "x".repeat(1000)
      yield* Effect.forEach(
        Array.from({ length: 53_000 }, (_, i) => i),
        (i) => Log.info("filler", { i, filler }),
        { discard: true }
      ).pipe(Effect.provide(LoggingLive(settings(dir))))
      // The release waits at most 5 s for the flush (PID 1's exit is bounded); 53 MB on a loaded machine can
      // take longer, and the stream finishes in the background: the last line must arrive, none lost.
      const lastLine = () => readLines(path.join(dir, "clawkerd.log")).at(-1)?.i
      yield* Effect.promise(() => waitFor(() => lastLine() === 52_999, 30_000, "the last line flushed").catch(() => {}))
      const names = fs.readdirSync(dir).sort()
      expect(names).toContain("clawkerd.log")
      expect(names).toContain("clawkerd.log.1")
      // Rotation looks at the size between writes, and a write carries up to LOG_CHUNK bytes of lines.
      expect(fs.statSync(path.join(dir, "clawkerd.log.1")).size).toBeLessThanOrEqual(50 * 1024 * 1024 + LOG_CHUNK)
      expect(lastLine()).toBe(52_999)
    }), 60_000)

  /** A file stand-in that completes writes at once, or only when told: a disk that keeps up, or one that does not. */
  const slowFile = (keepsUp = false) => {
    const writes: Array<string> = []
    const callbacks: Array<() => void> = []
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        writes.push(chunk.toString())
        if (keepsUp) callback()
        else callbacks.push(() => callback())
      }
    })
    const complete = () => {
      for (const done of callbacks.splice(0)) done()
    }
    return { stream, writes, complete }
  }
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
  const droppedLine = (count: number) => `${JSON.stringify({ level: "warn", event: "log_lines_dropped", count })}\n`
  const line = (i: number) => `${JSON.stringify({ event: "filler", i, filler: "x".repeat(80) })}\n`

  it("the lines of one turn of the event loop reach the file in writes of up to LOG_CHUNK bytes, in order", async () => {
    const file = slowFile(true)
    const writer = batchedWriter(file.stream, 16 * LOG_CHUNK, droppedLine)
    for (let i = 0; i < 30_000; i++) writer.write(line(i))
    expect(file.writes).toEqual([])
    await nextTurn()
    const bytes = Array.from({ length: 30_000 }, (_, i) => line(i).length).reduce((a, b) => a + b, 0)
    expect(file.writes).toHaveLength(Math.ceil(bytes / LOG_CHUNK))
    expect(file.writes.every((w) => w.length <= LOG_CHUNK)).toBe(true)
    expect(file.writes.join("").split("\n").slice(0, -1).map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(
      Array.from({ length: 30_000 }, (_, i) => i)
    )
  })

  it("a file that falls behind holds at most the limit: the rest is counted and said once it catches up", async () => {
    const file = slowFile()
    const limit = 10 * 1024
    const writer = batchedWriter(file.stream, limit, droppedLine)
    for (let i = 0; i < 1_000; i++) writer.write(line(i))
    await nextTurn()
    // The disk has not answered: what is kept is the lines that fit under the limit, in one write.
    let kept = 0
    for (let bytes = line(0).length; bytes <= limit; bytes += line(++kept).length);
    expect(file.stream.writableLength).toBe(
      Array.from({ length: kept }, (_, i) => line(i).length).reduce((a, b) => a + b)
    )
    for (let i = 1_000; i < 1_100; i++) writer.write(line(i))
    await nextTurn()
    expect(file.writes).toHaveLength(1)
    file.complete()
    writer.write(line(1_100))
    writer.drain()
    const lines = file.writes.join("").split("\n").slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.slice(kept)).toMatchObject([
      { event: "log_lines_dropped", level: "warn", count: 1_100 - kept },
      { event: "filler", i: 1_100 }
    ])
    expect(lines.slice(0, kept).map((l) => l.i)).toEqual(Array.from({ length: kept }, (_, i) => i))
  })

  it("lines dropped before the end are counted in the file when it closes", async () => {
    const file = slowFile()
    const writer = batchedWriter(file.stream, 1024, droppedLine)
    for (let i = 0; i < 100; i++) writer.write(line(i))
    writer.drain()
    const last = file.writes.join("").trim().split("\n").at(-1)!
    expect(JSON.parse(last)).toMatchObject({
      event: "log_lines_dropped",
      count: 100 - Math.floor(1024 / line(0).length)
    })
    expect(line(0).length).toBe(line(9).length)
    await nextTurn()
  })
})
