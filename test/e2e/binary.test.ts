import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { imageNodeMajor } from "../../scripts/imageNode.mjs"
import * as C from "../../src/programs/cp/commands.js"
import { outputOf } from "../../src/programs/cp/cpClient.js"
import { NODE_FLAGS } from "../../src/programs/nodeFlags.js"
import { TESTER } from "../support/accounts.js"
import { repoRoot } from "../support/daemon.js"
import { daemonsOfFile } from "../support/daemonsOfFile.js"
import { helloThenRegister } from "../support/firstBoot.js"
import { expectImageEnvPassedOn, IMAGE_ENV, imageEnvCmd } from "../support/imageEnv.js"
import { pidNamespaceUnavailable } from "../support/pidns.js"

/*
 * dist/clawkerd, the single executable (scripts/build-binary.mjs), as PID 1 of a PID namespace: built once
 * for this file, then driven like the bundle (test/e2e/daemon.test.ts).
 */

const nodeLine = imageNodeMajor()
const unavailable = pidNamespaceUnavailable() ?? (process.versions.node.split(".")[0] === nodeLine
  ? undefined
  : `the binary is built on the image's Node line (${nodeLine}); this is node ${process.version}`)
if (unavailable !== undefined) console.warn(`skipping single binary e2e tests: ${unavailable}`)
const e2e = describe.skipIf(unavailable !== undefined)
const daemons = daemonsOfFile(unavailable)
const binary = path.join(repoRoot, "dist/clawkerd")
const version: string = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")).version

beforeAll(() => {
  if (unavailable !== undefined) return
  execFileSync(process.execPath, [path.join(repoRoot, "scripts/build-binary.mjs")], { stdio: "pipe" })
}, 180_000)

/** The addon's mappings and the shim's fd in PID 1, as root sees them from outside. */
const unpackedFiles = (pid: number) => {
  const maps = fs.readFileSync(`/proc/${pid}/maps`, "utf8").split("\n").filter((l) => l.includes("clawkerd_native"))
  const fds = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`)
    } catch {
      return ""
    }
  })
  return { maps, shims: fds.filter((target) => target.includes("clawkerd-exec")) }
}

e2e("the single binary", () => {
  it("--version names the daemon and the Node inside, with no Node around it", () => {
    const r = spawnSync(binary, ["--version"], { encoding: "utf8", env: {} })
    expect(r).toMatchObject({ status: 0, stdout: `clawkerd ${version} (node ${process.version})\n`, stderr: "" })
  })

  it("boots as PID 1, answers Hello over mTLS, and runs stages and the user CMD through its unpacked shim", async () => {
    const d = await daemons.start([
      "sh",
      "-c",
      [
        "echo cmd uid=$(id -u)",
        // What an unprivileged CMD could reach of PID 1's unpacked files.
        "ls -l /proc/1/fd/ >/dev/null 2>&1 && echo pid1-fds-listable",
        "grep -h clawkerd_native /proc/1/maps 2>/dev/null | sed 's/^/pid1-map /'",
        "echo done; read go"
      ].join("\n")
    ], {
      program: [binary],
      // Ignored by the binary: honoured, Node would fail to preload the file (or the guard refuse the
      // inspector) and clawkerd never boot.
      env: { ...daemons.cp().env, NODE_OPTIONS: "--inspect=127.0.0.1:9229 --require /nonexistent/inject.js" }
    })
    const s = await d.session()
    await helloThenRegister(s)
    s.send(C.shell("as-user", [C.stage(["id", "-u"], { uid: TESTER.uid, gid: TESTER.gid })]))
    expect(outputOf(await s.collectUntilTerminal("as-user")).toString()).toBe(`${TESTER.uid}\n`)

    const { maps, shims } = unpackedFiles(await d.ns.pid())
    expect(maps.length).toBeGreaterThan(0)
    for (const line of maps) expect(line).toMatch(/\/clawkerd_native\.node \(deleted\)$/)
    expect(shims).toHaveLength(1)
    expect(shims[0]).toMatch(/\/clawkerd-exec \(deleted\)$/)
    // The private directory went with its files.
    expect(fs.existsSync(path.dirname(shims[0]!))).toBe(false)

    expect((await s.request(C.agentInitialized("init"))).payload).toMatchObject({ $case: "done" })
    expect((await s.request(C.agentReady("ready"))).payload).toMatchObject({ $case: "done" })
    await d.ns.line(/^done$/)
    const lines = d.ns.lines()
    expect(lines).toContain(`cmd uid=${TESTER.uid}`)
    expect(lines.filter((l) => /^pid1-/.test(l))).toEqual([])
    // PID 1's V8 flags come from the binary's own execArgv.
    expect(d.events("boot")).toMatchObject([{ version, node_flags: [...NODE_FLAGS] }])
    d.ns.write("go\n")
    expect((await d.ns.exited).code).toBe(0)
  })

  it("the image's environment (UV_*, NODE_*, OTEL_*, ...) reaches stages and the user CMD; clawkerd's own settings do not", async () => {
    const d = await daemons.start(imageEnvCmd, { program: [binary], env: { ...daemons.cp().env, ...IMAGE_ENV } })
    await expectImageEnvPassedOn(d)
  })
})
