import { describe, expect, it } from "vitest"
import { descendantsOf, readProcTable } from "../../src/layers/reaper/procTable.js"
import * as C from "../../src/programs/cp/commands.js"
import { connect, CpSession, outputOf } from "../../src/programs/cp/cpClient.js"
import type { DaemonOptions, DaemonRun } from "../support/daemonInNamespace.js"
import { daemonsOfFile } from "../support/daemonsOfFile.js"
import { waitFor } from "../support/wait.js"
import { CRASH_EVENTS, daemonTestsUnavailable } from "./support/daemonTarget.js"
import { startRelay } from "./support/hostile.js"
import { cpCredentialsOf } from "./support/hostileScenario.js"

/*
 * Faults against the built daemon as PID 1 of a PID namespace: SIGTERM at every phase of its life,
 * a user CMD that ignores SIGTERM with a second SIGTERM during the grace, and a Session cut in the
 * middle of a pipeline, by the CP and by the network. Every exit is checked for a clean drain:
 * listener stopped, orphans drained with no survivor, `shutdown` the last event, nothing crashed.
 */

const unavailable = daemonTestsUnavailable("the daemon fault tests")

const INIT = "init-0123456789ab"

const daemons = daemonsOfFile(unavailable)
const cp = daemons.cp
const daemon = async (userCmd: ReadonlyArray<string>, options: Partial<DaemonOptions> = {}) => {
  const run = await daemons.start(userCmd, options)
  await run.port()
  return run
}

const processesBelow = async (run: DaemonRun) => descendantsOf(await run.ns.pid(), readProcTable())

/** The exit code, then the teardown: listener closed, orphans drained to none, `shutdown` last, no crash. */
const expectCleanExit = async (run: DaemonRun, code: number) => {
  expect((await run.ns.exited).code, run.ns.stderr()).toBe(code)
  const events = run.logs().map((e) => e.event)
  expect(events).toContain("clawkerd_listener_stopped")
  expect(run.events("orphan_drain_done")).toMatchObject([{ survivors: 0 }])
  expect(run.events("shutdown")).toMatchObject([{ exit_code: code }])
  expect(events.at(-1)).toBe("shutdown")
  for (const crash of CRASH_EVENTS) expect(run.events(crash), crash).toEqual([])
}

/** Output of `id` so far. */
const outputSoFar = (s: CpSession, id: string) => outputOf(s.pending(id)).toString()

describe.skipIf(unavailable !== undefined)("SIGTERM at every phase", () => {
  it("before any Session: exit 1 (shutdown_before_spawn); a second SIGTERM right behind it changes nothing", async () => {
    const d = await daemon(["true"])
    await d.ns.signal("SIGTERM")
    await d.ns.signal("SIGTERM").catch(() => undefined)
    await expectCleanExit(d, 1)
    expect(d.events("shutdown_signal_received")[0]).toMatchObject({ signal: "SIGTERM", first: true })
    expect(d.events("shutdown_before_spawn")).toHaveLength(1)
  })

  it("during Register, with the OAuth2 server hanging: the exchange does not hold the exit up", async () => {
    cp().oauth.setFault({ kind: "hang" })
    try {
      const d = await daemon(["true"])
      const s = await d.session()
      const requests = cp().oauth.requests.length
      s.send(C.registerRequired("reg"))
      await cp().oauth.waitForRequests(requests + 1)
      expect((await s.request(C.hello("during"))).payload?.$case).toBe("helloAck")
      await d.ns.signal("SIGTERM")
      await expectCleanExit(d, 1)
      const end = await s.ended
      expect(s.pending("reg")).toEqual([])
      expect(end.code).not.toBe(0)
      expect(d.events("token_exchange_attempt")).toHaveLength(1)
      expect(d.events("register_rpc_ok")).toEqual([])
    } finally {
      cp().oauth.setFault(undefined)
    }
  })

  it("during an init pipeline: the stage is killed, its TERM-ignoring orphan drained, exit 1", async () => {
    const d = await daemon(["true"])
    const s = await d.session()
    const id = `${INIT}-post-init-1`
    // setsid: an orphan that left the stage's process group, which the Session's stop kills whole. It says
    // "started" itself, once in its own session: said by the stage, it could come before the setsid.
    s.send(C.sh(id, "trap '' TERM; setsid sh -c 'echo started; exec sleep 1000' & wait"))
    await waitFor(() => outputSoFar(s, id) === "started\n", 10_000, "the init step running")
    await d.ns.signal("SIGTERM")
    await expectCleanExit(d, 1)
    expect(d.events("shell_command_done")).toMatchObject([{ command_id: id, outcome: "incomplete" }])
    // The stage's group (sh) got SIGKILL from the Session's stop; the sleep in its own session,
    // reparented to PID 1, ignored the drain's SIGTERM and got SIGKILL after the orphan grace.
    expect(d.events("orphan_drain_done")).toMatchObject([{ terminated: 1, killed: 1, survivors: 0 }])
  })

  it("after the spawn, with a Session and a pipeline open: the CMD honours SIGTERM, exit 143", async () => {
    const d = await daemon(["sh", "-c", "echo ready; exec sleep 1000"])
    const s = await d.session()
    expect((await s.request(C.agentReady("ready"))).payload?.$case).toBe("done")
    await d.ns.line(/^ready$/)
    s.send(C.sh("busy", "echo busy; exec sleep 1000"))
    await waitFor(() => outputSoFar(s, "busy") === "busy\n", 10_000, "the pipeline running")
    await d.ns.signal("SIGTERM")
    await expectCleanExit(d, 143)
    expect(d.events("spawn_stop_sigterm")).toHaveLength(1)
    expect(d.events("spawn_stop_sigkill")).toEqual([])
    expect(d.events("shell_command_done")).toMatchObject([{ command_id: "busy", outcome: "incomplete" }])
  })

  it("a CMD that ignores SIGTERM, and a second SIGTERM during the grace: SIGKILL after the grace, exit 137", async () => {
    const d = await daemon(["sh", "-c", "trap '' TERM; echo ready; exec sleep 1000"], {
      env: { ...cp().env, CLAWKERD_STOP_GRACE: "1 second" }
    })
    const s = await d.session()
    expect((await s.request(C.agentReady("ready"))).payload?.$case).toBe("done")
    await d.ns.line(/^ready$/)
    await d.ns.signal("SIGTERM")
    await waitFor(() => d.events("spawn_stop_sigterm").length === 1, 10_000, "stop(grace) under way")
    await d.ns.signal("SIGTERM")
    await expectCleanExit(d, 137)
    expect(d.events("shutdown_signal_received")).toMatchObject([
      { signal: "SIGTERM", first: true },
      { signal: "SIGTERM", first: false }
    ])
    expect(d.events("spawn_stop_sigkill")).toMatchObject([{ grace: 1000 }])
    expect(d.events("spawn_main_reaped")).toMatchObject([{ signal: 9, exit_code: 137 }])
  })
})

describe.skipIf(unavailable !== undefined)("a Session cut in the middle of a pipeline", () => {
  /** A two-stage pipeline whose first stage leaves a short-lived orphan behind. */
  const PIPELINE = [C.stage(["sh", "-c", "(sleep 0.3) & echo ready; exec sleep 1000"]), C.stage(["cat"])]

  const cutAndReopen = async (cut: "cancel" | "network") => {
    const d = await daemon(["true"])
    const proxy = await startRelay(await d.port())
    const client = connect(`127.0.0.1:${proxy.port}`, cpCredentialsOf(cp().deployment))
    try {
      const s = CpSession.open(client)
      s.send(C.shell("pipe", PIPELINE))
      await waitFor(() => outputSoFar(s, "pipe") === "ready\n", 10_000, "the pipeline running")
      expect((await processesBelow(d)).length).toBeGreaterThanOrEqual(3)
      if (cut === "cancel") s.cancel()
      else proxy.cut()
      await s.ended
      await waitFor(() => d.events("session_ended").length === 1, 10_000, "the Session ended")
      // Both stages SIGKILLed and reaped; the orphan reparented to PID 1 and reaped when it exited.
      const init = await d.ns.pid()
      await waitFor(
        () => descendantsOf(init, readProcTable()).length === 0,
        10_000,
        "no process (and no zombie) left below PID 1"
      )
      expect(d.events("shell_command_done")).toMatchObject([{ command_id: "pipe", outcome: "incomplete" }])

      const again = await d.session()
      again.send(C.shell("after", [C.stage(["echo", "again"]), C.stage(["cat"])]))
      const replies = await again.collectUntilTerminal("after")
      expect(outputOf(replies).toString()).toBe("again\n")
      expect(replies.at(-1)!.payload).toEqual({ $case: "done", value: { finalExitCode: 0 } })
      await d.ns.signal("SIGTERM")
      await expectCleanExit(d, 1)
    } finally {
      client.close()
      await proxy.close()
    }
  }

  it("by the CP (the call cancelled): the pipeline dies, a new Session works, no zombie", () => cutAndReopen("cancel"))
  it("by the network (the TCP connection reset): the same", () => cutAndReopen("network"))
})
