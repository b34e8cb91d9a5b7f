import { spawn } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { assertBuilt, repoRoot } from "../support/daemon.js"

/** The README's first command must stay true: the demo runs the whole lifecycle and exits 0. */
describe("npm run demo", () => {
  it("drives clawkerd from boot to the user CMD's exit and prints the timeline", async () => {
    assertBuilt()
    const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "devkit/demo.ts")], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", (b) => (out += b))
    child.stderr.on("data", (b) => (out += b))
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
    expect(out, out).toContain("clawkerd exited with 0")
    expect(code).toBe(0)
    for (
      const expected of [
        "HelloAck{initialized=false, cmd_running=false}",
        "RegisterDone{ok}",
        "✓ Agent config seeded",
        "HelloAck{initialized=true, cmd_running=false}",
        "user CMD running as uid",
        "bearer token valid: true"
      ]
    ) expect(out).toContain(expected)
  }, 60_000)
})
