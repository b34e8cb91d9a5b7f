import { spawn } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { assertBuilt, repoRoot } from "../support/daemon.js"

/*
 * In a child process (the test runner has its own handlers): with StrayErrorsLive in place, a stray
 * rejection and an uncaught exception are logged as events and the process carries on.
 */
const script = `
import { Effect, Layer, LogLevel } from "effect"
import { LoggingTo } from "${path.join(repoRoot, "dist/layers/logging/Logging.js")}"
import { StrayErrorsLive } from "${path.join(repoRoot, "dist/layers/logging/StrayErrorsLive.js")}"
const logging = LoggingTo({ agent: "a", project: "", logDir: "/", logLevel: "Info", logStderr: false },
  (line) => process.stdout.write(line))
await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  yield* Layer.build(StrayErrorsLive)
  Promise.reject(new Error("stray rejection"))
  setTimeout(() => { throw new Error("stray exception") }, 10)
  yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 200)))
  process.stdout.write("still alive\\n")
})).pipe(Effect.provide(logging)))
`

describe("StrayErrorsLive", () => {
  it("logs unhandled rejections and uncaught exceptions as events, and the process lives on", async () => {
    assertBuilt()
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot })
    let out = ""
    child.stdout.on("data", (b) => (out += b))
    child.stderr.on("data", (b) => (out += b))
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
    expect(code, out).toBe(0)
    const events = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    expect(events.find((e) => e.event === "unhandled_rejection")?.error).toContain("stray rejection")
    expect(events.find((e) => e.event === "uncaught_exception")?.error).toContain("stray exception")
    expect(out).toContain("still alive")
  })
})
