import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { NODE_FLAGS } from "../../src/programs/nodeFlags.js"

export const repoRoot = path.resolve(import.meta.dirname, "../..")
/** The built daemon: e2e tests run what ships, so `npm test` builds first. */
export const binPath = path.join(repoRoot, "dist/programs/bin.js")
/** What bin.js loads: the daemon bundled by scripts/bundle.mjs, with its V8 code cache next to it. */
export const bundlePath = path.join(repoRoot, "dist/programs/clawkerd.cjs")
/** How the platform starts the built daemon: node with PID 1's flags, then bin.js. */
export const daemonCommand: ReadonlyArray<string> = [process.execPath, ...NODE_FLAGS, binPath]

export const assertBuilt = () => {
  for (const file of [binPath, bundlePath]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run "npm run build" (npm test does)`)
  }
}

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the built daemon to completion with exactly the given environment (plus PATH). */
export const runBin = (env: Record<string, string>, args: ReadonlyArray<string> = []): Promise<Finished> =>
  new Promise((resolve, reject) => {
    assertBuilt()
    const [node, ...flagsAndBin] = daemonCommand
    const child = spawn(node!, [...flagsAndBin, ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (b) => (stdout += b))
    child.stderr.on("data", (b) => (stderr += b))
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
