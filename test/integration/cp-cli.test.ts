import { Layer } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessRegistryLive } from "../../src/layers/ProcessRegistryLive.js"
import { ShellExecutorLive } from "../../src/layers/ShellExecutorLive.js"
import { assertBuilt, repoRoot } from "../support/daemon.js"
import type { ListenerRig } from "../support/listenerRig.js"
import { startListenerRig } from "../support/listenerRig.js"

let rig: ListenerRig<never>
let flags: Array<string>

beforeAll(async () => {
  assertBuilt()
  rig = await startListenerRig({ capabilities: ShellExecutorLive.pipe(Layer.provide(ProcessRegistryLive)) })
  const dir = path.join(rig.fx.root, "cp")
  fs.mkdirSync(dir)
  const files = {
    ca: rig.fx.deployment.ca.certPem,
    cert: rig.fx.deployment.cpClient.certPem,
    key: rig.fx.deployment.cpClient.keyPem
  }
  flags = ["--addr", rig.address]
  for (const [name, pem] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, `${name}.pem`), pem)
    flags.push(`--${name}`, path.join(dir, `${name}.pem`))
  }
})
afterAll(async () => {
  await rig.close()
})

const cli = (args: ReadonlyArray<string>, input?: string) => {
  const child = spawn(process.execPath, [path.join(repoRoot, "dist/programs/cp.js"), ...flags, ...args], {
    stdio: ["pipe", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (b) => (stdout += b))
  child.stderr.on("data", (b) => (stderr += b))
  if (input !== undefined) child.stdin.end(input)
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  )
  return { child, done, stdout: () => stdout }
}

describe("clawkerd-cp, the operator's CP client", () => {
  it("hello prints the HelloAck", async () => {
    const r = await cli(["hello"]).done
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe("HelloAck{initialized=false, cmd_running=false}")
  })

  it("exec streams output, forwards stdin until EOF and exits with the command's code", async () => {
    const r = await cli(["exec", "--", "sh", "-c", "cat; echo err >&2; exit 5"], "from stdin\n").done
    expect(r.stdout).toBe("from stdin\nerr\n")
    expect(r.code).toBe(5)
  })

  it("exec forwards Ctrl-C to the command: killed by SIGINT → 130", async () => {
    const run = cli(["exec", "--", "sh", "-c", "echo started; exec sleep 100"], "")
    while (!run.stdout().includes("started")) await new Promise((r) => setTimeout(r, 20))
    run.child.kill("SIGINT")
    expect((await run.done).code).toBe(130)
  })

  it("exec of a missing program exits 127 with the reason", async () => {
    const r = await cli(["exec", "--", "no-such-program-xyz"], "").done
    expect(r.code).toBe(127)
    expect(r.stderr).toContain("SPAWN_FAILED")
  })

  it("init-done writes the marker; a bad flag is a usage error", async () => {
    expect((await cli(["init-done"]).done).stdout.trim()).toBe("Done{0}")
    expect(fs.existsSync(rig.initMarker)).toBe(true)
    expect((await cli(["frobnicate"]).done).code).toBe(2)
  })
})
