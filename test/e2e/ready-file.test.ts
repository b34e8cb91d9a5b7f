import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as C from "../../src/programs/cp/commands.js"
import { TESTER } from "../support/accounts.js"
import { daemonsOfFile } from "../support/daemonsOfFile.js"
import { tempDir } from "../support/fixtures.js"
import { pidNamespaceUnavailable } from "../support/pidns.js"

/*
 * The ready file the image's HEALTHCHECK tests, with the built daemon as PID 1: a restarted
 * container (whose /run survives) is not healthy again until its next AgentReady, and a link the
 * unprivileged user plants where the file goes is never written through.
 */

const unavailable = pidNamespaceUnavailable()
if (unavailable !== undefined) console.warn(`skipping ready file e2e tests: ${unavailable}`)
const daemons = daemonsOfFile(unavailable)

const asTester = (argv: ReadonlyArray<string>) =>
  execFileSync("setpriv", [`--reuid=${TESTER.uid}`, `--regid=${TESTER.gid}`, "--clear-groups", ...argv])

/** A state directory the test account may enter (as the image's / is), for the user to plant things in. */
const enterableStateDir = async () => {
  const dir = await tempDir("clawkerd-e2e-")
  fs.chmodSync(dir, 0o755)
  return dir
}

describe.skipIf(unavailable !== undefined)("the ready file", () => {
  it("a restart removes the previous run's ready file at boot; only the next AgentReady writes it", async () => {
    const first = await daemons.start(["sleep", "1000"])
    const s1 = await first.session()
    expect((await s1.request(C.agentReady("ready-1"))).payload?.$case).toBe("done")
    expect(fs.existsSync(first.readyFile)).toBe(true)
    await first.ns.signal("SIGTERM")
    expect((await first.ns.exited).code).toBe(143)
    expect(fs.existsSync(first.readyFile)).toBe(true)

    const second = await daemons.start(["sleep", "1000"], { stateDir: first.stateDir })
    const s2 = await second.session()
    expect((await s2.request(C.hello("h"))).payload).toMatchObject({ value: { cmdRunning: false } })
    expect(fs.existsSync(second.readyFile)).toBe(false)
    expect(second.events("ready_file_stale_removed")).toMatchObject([{ path: second.readyFile }])
    expect((await s2.request(C.agentReady("ready-2"))).payload?.$case).toBe("done")
    expect(fs.existsSync(second.readyFile)).toBe(true)
    await second.ns.signal("SIGTERM")
    expect((await second.ns.exited).code).toBe(143)
  })

  it("the platform's layout: the ready file's directory is the user's; a link the user plants at its name is replaced, not followed", async () => {
    const stateDir = await enterableStateDir()
    const victim = path.join(stateDir, "victim")
    fs.writeFileSync(victim, "precious", { mode: 0o644 })
    const past = new Date(Date.now() - 3600_000)
    fs.utimesSync(victim, past, past)
    const runDir = path.join(stateDir, "run")
    fs.mkdirSync(runDir)
    fs.chownSync(runDir, TESTER.uid, TESTER.gid)

    const d = await daemons.start(["sleep", "1000"], { stateDir })
    const s = await d.session()
    expect((await s.request(C.hello("h"))).payload?.$case).toBe("helloAck")
    asTester(["ln", "-s", victim, d.readyFile])
    expect((await s.request(C.agentReady("ready"))).payload?.$case).toBe("done")
    const ready = fs.lstatSync(d.readyFile)
    expect({ uid: ready.uid, mode: ready.mode & 0o777, links: ready.nlink }).toEqual({ uid: 0, mode: 0o644, links: 1 })
    expect(fs.readFileSync(d.readyFile, "utf8")).toMatch(/^\d+$/)
    expect(d.events("spawn_ready_file_touch_failed")).toEqual([])
    expect(fs.readFileSync(victim, "utf8")).toBe("precious")
    expect(Math.abs(fs.statSync(victim).mtimeMs - past.getTime())).toBeLessThan(1)
    await d.ns.signal("SIGTERM")
    expect((await d.ns.exited).code).toBe(143)
  })

  it("a link the user plants higher up the ready file's and the marker's paths is refused: Hello is not fooled, nothing is written or removed through it", async () => {
    const stateDir = await enterableStateDir()
    const victims = path.join(stateDir, "victims")
    fs.mkdirSync(victims, { mode: 0o755 })
    for (const name of ["ready", "agent-initialized"]) fs.writeFileSync(path.join(victims, name), "precious")
    const userDir = path.join(stateDir, "user")
    fs.mkdirSync(userDir)
    fs.chownSync(userDir, TESTER.uid, TESTER.gid)
    asTester(["ln", "-s", victims, path.join(userDir, "lib")])
    const readyFile = path.join(userDir, "lib", "ready")
    const marker = path.join(userDir, "lib", "agent-initialized")

    const d = await daemons.start(["sleep", "1000"], {
      stateDir,
      env: { ...daemons.cp().env, CLAWKERD_READY_FILE: readyFile, CLAWKERD_INIT_MARKER: marker }
    })
    const s = await d.session()
    expect((await s.request(C.hello("h"))).payload).toMatchObject({ value: { initialized: false } })
    expect((await s.request(C.agentInitialized("init"))).payload?.$case).toBe("done")
    expect((await s.request(C.agentReady("ready"))).payload?.$case).toBe("done")
    const refused = `${
      path.join(userDir, "lib")
    } is in ${userDir}, which others may write (owner uid ${TESTER.uid}, mode 0755): refused`
    expect(d.events("ready_file_remove_failed")).toMatchObject([{ path: readyFile, error: refused }])
    expect(d.events("agent_initialized_marker_mkdir_failed")).toMatchObject([{ path: marker, error: refused }])
    expect(d.events("spawn_ready_file_touch_failed")).toMatchObject([{ path: readyFile, error: refused }])
    expect((await s.request(C.hello("h2"))).payload).toMatchObject({ value: { initialized: false, cmdRunning: true } })
    for (const name of ["ready", "agent-initialized"]) {
      expect(fs.readFileSync(path.join(victims, name), "utf8")).toBe("precious")
    }
    await d.ns.signal("SIGTERM")
    expect((await d.ns.exited).code).toBe(143)
  })
})
