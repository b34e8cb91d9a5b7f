import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { LoggingLive } from "../../src/layers/logging/Logging.js"
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
      expect(lines[0]).toMatchObject({ level: "info", event: "boot", agent: "dev", project: "demo", pid: 1 })
      expect(lines[1]).toMatchObject({ level: "warn", path: "/x" })
      expect(Date.parse(String(lines[0]!.time))).not.toBeNaN()
      expect(Object.keys(lines[0]!).slice(0, 5)).toEqual(["time", "level", "event", "agent", "project"])
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
      expect(fs.statSync(path.join(dir, "clawkerd.log.1")).size).toBeLessThanOrEqual(50 * 1024 * 1024 + 2048)
      expect(lastLine()).toBe(52_999)
    }), 60_000)
})
