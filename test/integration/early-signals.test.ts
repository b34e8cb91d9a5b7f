import { spawn } from "node:child_process"
import { describe, expect, it } from "vitest"
import { bundleEntry } from "../support/bundle.js"

describe("boot guard", () => {
  it("a SIGTERM (or SIGHUP) before any layer exists is kept for ShutdownSignalLive, and ends nothing", async () => {
    const harness = await bundleEntry("test/support/earlySignalHarness.ts")
    const child = spawn(process.execPath, [harness], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    child.stdout.on("data", (b) => (stdout += b))
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on("close", (c, s) => resolve([c, s]))
    )
    expect({ code, signal, received: stdout.trim().split("\n").at(-1) }).toEqual({
      code: 0,
      signal: null,
      received: "SIGTERM"
    })
  })
})
