import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as C from "../../src/programs/cp/commands.js"
import { outputOf } from "../../src/programs/cp/cpClient.js"
import { assertBuilt } from "../support/daemon.js"
import type { DaemonOptions, DaemonRun } from "../support/daemonInNamespace.js"
import { startDaemonInNamespace } from "../support/daemonInNamespace.js"
import type { BootstrapFixture } from "../support/fixtures.js"
import { bootstrapFixture, tempDir } from "../support/fixtures.js"
import { waitFor } from "../support/wait.js"
import { daemonTestsUnavailable } from "./support/daemonTarget.js"
import { ownSession } from "./support/hostile.js"
import { cpCredentialsOf } from "./support/hostileScenario.js"
import { listeningPortOf } from "./support/procStats.js"
import { stderrEvent, stderrEventsNamed } from "./support/stderrLog.js"

/*
 * A full or read-only disk under the log directory and under the init marker. Each mount is a
 * small tmpfs made inside the daemon's own mount namespace (gone with it), so the host's view of
 * these directories stays empty: the daemon's events are read from its stderr, where the log goes
 * once the file is unusable. Spec: logged and tolerated; the daemon keeps serving.
 */

const unavailable = daemonTestsUnavailable("the storage fault tests")

let fx: BootstrapFixture
const runs: Array<DaemonRun> = []
beforeAll(async () => {
  assertBuilt()
  fx = await bootstrapFixture()
})
afterAll(async () => {
  for (const run of runs) {
    run.close()
    await run.ns.signal("SIGTERM").catch(() => undefined)
    await run.ns.exited
  }
})

const start = async (options: Pick<DaemonOptions, "prelude" | "env">) => {
  const run = await startDaemonInNamespace({
    bootstrapDir: fx.dir,
    deployment: fx.deployment,
    userCmd: ["true"],
    ...options
  })
  runs.push(run)
  const pid = await run.ns.pid()
  await waitFor(() => listeningPortOf(pid) !== undefined, 30_000, "the daemon listening")
  const address = `127.0.0.1:${listeningPortOf(pid)}`
  return { run, session: () => ownSession(address, cpCredentialsOf(fx.deployment)) }
}

/** The daemon still does its job: Hello, a pipeline with output, AgentInitialized answered Done{0}. */
const stillServes = async (session: ReturnType<typeof ownSession>) => {
  expect((await session.request(C.hello("h"))).payload?.$case).toBe("helloAck")
  session.send(C.sh("p", "echo works"))
  const replies = await session.collectUntilTerminal("p")
  expect(outputOf(replies).toString()).toBe("works\n")
  expect(replies.at(-1)!.payload).toEqual({ $case: "done", value: { finalExitCode: 0 } })
  expect((await session.request(C.agentInitialized("init"))).payload).toEqual({
    $case: "done",
    value: { finalExitCode: 0 }
  })
}

/** SIGTERM before any spawn: exit 1, and the last event, on stderr, is the shutdown. */
const stopsCleanly = async (run: DaemonRun) => {
  await run.ns.signal("SIGTERM")
  expect((await run.ns.exited).code).toBe(1)
  expect(stderrEventsNamed(run.ns, "shutdown")).toMatchObject([{ exit_code: 1 }])
}

describe.skipIf(unavailable !== undefined)("storage faults: logged, tolerated, still serving", () => {
  it("log directory full from the start, init marker's directory read-only", async () => {
    const logDir = await tempDir("clawkerd-full-log-")
    const roDir = await tempDir("clawkerd-ro-state-")
    const marker = path.join(roDir, "lib", "agent-initialized")
    const { run, session } = await start({
      prelude: [
        `mount -t tmpfs -o size=64k tmpfs ${logDir}`,
        `dd if=/dev/zero of=${logDir}/filler bs=4k count=64 2>/dev/null; true`,
        `mount -t tmpfs -o size=64k,mode=0755 tmpfs ${roDir}`,
        `mount -o remount,ro ${roDir}`
      ].join("\n"),
      env: { CLAWKERD_LOG_DIR: logDir, CLAWKERD_INIT_MARKER: marker }
    })
    const unusable = await stderrEvent(run.ns, "log_file_unavailable")
    expect(unusable).toMatchObject({ dir: logDir, reason: expect.stringMatching(/ENOSPC|no space/i) })
    const s = session()
    await stillServes(s)
    // The marker's directory cannot be made: the reference's mkdir event.
    // Logged beside the Done{0} reply, not before it: wait for the line, then check it was the only one.
    await stderrEvent(run.ns, "agent_initialized_marker_mkdir_failed")
    expect(stderrEventsNamed(run.ns, "agent_initialized_marker_mkdir_failed")).toMatchObject([
      { path: marker, error: expect.stringMatching(/read-only/i) }
    ])
    expect((await s.request(C.hello("after"))).payload).toEqual({
      $case: "helloAck",
      value: { initialized: false, cmdRunning: false }
    })
    s.close()
    await s.ended
    await stopsCleanly(run)
  }, 60_000)

  it("log directory read-only, init marker on a disk with no inode left", async () => {
    const logDir = await tempDir("clawkerd-ro-log-")
    const fullDir = await tempDir("clawkerd-full-state-")
    const marker = path.join(fullDir, "lib", "agent-initialized")
    const { run, session } = await start({
      prelude: [
        `mount -t tmpfs -o size=64k tmpfs ${logDir}`,
        `mount -o remount,ro ${logDir}`,
        // Two inodes: the root and lib/. Creating the (empty) marker then fails with ENOSPC.
        `mount -t tmpfs -o size=64k,nr_inodes=2 tmpfs ${fullDir}`,
        `mkdir ${fullDir}/lib`
      ].join("\n"),
      env: { CLAWKERD_LOG_DIR: logDir, CLAWKERD_INIT_MARKER: marker }
    })
    expect(await stderrEvent(run.ns, "log_file_unavailable")).toMatchObject({
      dir: logDir,
      reason: expect.stringMatching(/EROFS|read-only/i)
    })
    const s = session()
    await stillServes(s)
    // Logged beside the Done{0} reply, not before it: wait for the line, then check it was the only one.
    await stderrEvent(run.ns, "agent_initialized_marker_write_failed")
    expect(stderrEventsNamed(run.ns, "agent_initialized_marker_write_failed")).toMatchObject([
      { path: marker, error: expect.stringMatching(/no space/i) }
    ])
    s.close()
    await s.ended
    await stopsCleanly(run)
  }, 60_000)

  it("the log directory fills up while serving: the log moves to stderr, nothing else changes", async () => {
    const logDir = await tempDir("clawkerd-filling-log-")
    const { run, session } = await start({
      prelude: `mount -t tmpfs -o size=16k tmpfs ${logDir}`,
      env: { CLAWKERD_LOG_DIR: logDir }
    })
    expect(stderrEventsNamed(run.ns, "log_file_unavailable")).toEqual([])
    const s = session()
    // Each pipeline logs about a KiB at debug level: 16 KiB fill within a few dozen.
    let sent = 0
    while (stderrEventsNamed(run.ns, "log_file_unavailable").length === 0 && sent < 2_000) {
      s.send(C.sh(`fill-${sent}`, "true"))
      expect((await s.collectUntilTerminal(`fill-${sent}`)).at(-1)!.payload?.$case).toBe("done")
      sent++
    }
    expect(stderrEventsNamed(run.ns, "log_file_unavailable")).toMatchObject([
      { dir: logDir, reason: expect.stringMatching(/ENOSPC|no space/i) }
    ])
    await stillServes(s)
    // Events after the switch are on stderr. Written beside the Done{0} reply, not before it (stderr and the
    // Session are two pipes): wait for the line, then check it was the only one.
    await stderrEvent(run.ns, "agent_initialized")
    expect(stderrEventsNamed(run.ns, "agent_initialized")).toHaveLength(1)
    s.close()
    await s.ended
    await stopsCleanly(run)
  }, 120_000)
})
