import * as fs from "node:fs"
import * as net from "node:net"
import { describe, expect, it } from "vitest"
import { descendantsOf, readProcTable } from "../../src/layers/reaper/procTable.js"
import * as C from "../../src/programs/cp/commands.js"
import { outputOf } from "../../src/programs/cp/cpClient.js"
import { NODE_FLAGS } from "../../src/programs/nodeFlags.js"
import { TESTER } from "../support/accounts.js"

import { daemonsOfFile } from "../support/daemonsOfFile.js"
import { helloThenRegister } from "../support/firstBoot.js"
import { expectImageEnvPassedOn, IMAGE_ENV, imageEnvCmd } from "../support/imageEnv.js"
import { pidNamespaceUnavailable } from "../support/pidns.js"
import { waitFor } from "../support/wait.js"

/*
 * The built daemon (dist/) as PID 1 of a PID namespace, driven over real mTLS by the test CP, with a
 * real OAuth2 server standing in for Hydra and a real CP AgentService.
 */

const unavailable = pidNamespaceUnavailable()
if (unavailable !== undefined) console.warn(`skipping daemon e2e tests: ${unavailable}`)
const e2e = describe.skipIf(unavailable !== undefined)

const daemons = daemonsOfFile(unavailable)
const daemon = daemons.start

const INIT = "init-0123456789ab"

e2e("clawkerd as PID 1", () => {
  it("boots, registers, runs init, spawns the user CMD as the target user, and exits with its code", async () => {
    const d = await daemon([
      "sh",
      "-c",
      "echo cmd uid=$(id -u) gid=$(id -g) groups=$(id -G) home=$HOME; read go; exit 3"
    ])
    const s = await d.session()
    await helloThenRegister(s)
    expect(daemons.cp().cp.calls.at(-1)).toMatchObject({ agentName: "dev", project: "demo" })

    s.send(C.sh(`${INIT}-config-1`, "echo seeding; echo warn >&2"))
    const config = await s.collectUntilTerminal(`${INIT}-config-1`)
    expect(outputOf(config).toString()).toBe("seeding\nwarn\n")
    s.send(C.shell(`${INIT}-post-init-2`, [C.stage(["id", "-u"], { uid: TESTER.uid, gid: TESTER.gid })]))
    const asUser = await s.collectUntilTerminal(`${INIT}-post-init-2`)
    expect(outputOf(asUser).toString()).toBe(`${TESTER.uid}\n`)

    expect((await s.request(C.agentInitialized("done"))).payload).toEqual({
      $case: "done",
      value: { finalExitCode: 0 }
    })
    expect(fs.existsSync(d.marker)).toBe(true)
    expect((await s.request(C.agentReady("ready"))).payload).toEqual({ $case: "done", value: { finalExitCode: 0 } })
    expect(await d.ns.line(/^cmd /)).toBe(
      `cmd uid=${TESTER.uid} gid=${TESTER.gid} groups=${TESTER.gid} ${TESTER.extraGroup} home=${d.stateDir}/home`
    )
    expect((await s.request(C.hello("h2"))).payload).toEqual({
      $case: "helloAck",
      value: { initialized: true, cmdRunning: true }
    })
    expect(fs.existsSync(d.readyFile)).toBe(true)
    expect((await s.request(C.agentReady("again"))).payload).toEqual({ $case: "done", value: { finalExitCode: 0 } })

    d.ns.write("go\n")
    expect((await d.ns.exited).code).toBe(3)
    const events = d.logs().map((e) => e.event)
    expect(d.events("boot")).toMatchObject([{ node_flags: [...NODE_FLAGS] }])
    for (
      const event of [
        "boot",
        "clawkerd_listener_started",
        "daemon_idle",
        "token_acquired",
        "register_rpc_ok",
        "agent_initialized",
        "spawn_started",
        "agent_ready_spawned",
        "agent_ready_already_spawned",
        "spawn_main_reaped",
        "main_child_exited",
        "clawkerd_listener_stopping",
        "clawkerd_listener_stopped",
        "shutdown"
      ]
    ) expect(events, event).toContain(event)
    expect(d.events("shutdown")).toMatchObject([{ exit_code: 3 }])
    // Teardown order: listener closed before the orphan drain, shutdown last.
    expect(events.indexOf("clawkerd_listener_stopped")).toBeLessThan(events.indexOf("orphan_drain_done"))
    expect(events.at(-1)).toBe("shutdown")
  })

  it("the image's environment (UV_*, NODE_*, OTEL_*, ...) reaches stages and the user CMD; clawkerd's own settings do not", async () => {
    const d = await daemon(imageEnvCmd, { env: { ...daemons.cp().env, ...IMAGE_ENV } })
    await expectImageEnvPassedOn(d)
  })

  it("SIGTERM while the CMD runs: stop(grace), orphans drained, exit 143", async () => {
    const d = await daemon([
      "sh",
      "-c",
      "setsid sh -c 'trap \"\" TERM; sleep 1000' & echo running; exec sleep 1000"
    ])
    const s = await d.session()
    expect((await s.request(C.agentReady("ready"))).payload?.$case).toBe("done")
    await d.ns.line(/^running$/)
    await d.ns.signal("SIGTERM")
    expect((await d.ns.exited).code).toBe(143)
    expect(d.events("shutdown_signal_received")).toMatchObject([{ signal: "SIGTERM" }])
    // The setsid'd shell and its sleep both ignore SIGTERM: the drain kills both.
    expect(d.events("orphan_drain_done")).toMatchObject([{ survivors: 0, terminated: 2, killed: 2 }])
    expect(d.events("shutdown")).toMatchObject([{ exit_code: 143 }])
  })

  it("SIGTERM before AgentReady: exit 1 with shutdown_before_spawn", async () => {
    const d = await daemon(["true"])
    const s = await d.session()
    expect((await s.request(C.hello("h"))).payload?.$case).toBe("helloAck")
    await d.ns.signal("SIGTERM")
    expect((await d.ns.exited).code).toBe(1)
    expect(d.events("shutdown_before_spawn")).toHaveLength(1)
  })

  it("gives the boot's memory back once idle, before any Session", async () => {
    const d = await daemon(["true"])
    await d.port()
    // The quiet reclaim, the one that also shrinks the young generation (the busy look may run one too).
    const quiet = () => d.events("memory_reclaimed").filter((e) => e.kind === "quiet")
    await waitFor(() => quiet().length > 0, 15_000, "a quiet memory_reclaimed after boot")
    expect(d.events("session_started")).toHaveLength(0)
    const [idle] = d.events("daemon_idle")
    const [reclaimed] = quiet()
    expect(Date.parse(String(reclaimed!.time))).toBeGreaterThanOrEqual(Date.parse(String(idle!.time)))
  })

  it("a failing exit_on_non_zero init step: CP gets its Done first, then clawkerd exits with that code", async () => {
    const d = await daemon(["true"])
    const s = await d.session()
    s.send(C.sh(`${INIT}-pre-run-1`, "echo failing; exit 7", { exitOnNonZero: true }))
    const replies = await s.collectUntilTerminal(`${INIT}-pre-run-1`)
    expect(replies.at(-1)!.payload).toEqual({ $case: "done", value: { finalExitCode: 7 } })
    expect((await d.ns.exited).code).toBe(7)
    expect(d.events("command_requested_exit")).toMatchObject([{ exit_code: 7 }])
  })

  it("restart: a second boot with the marker present reports initialized=true", async () => {
    const first = await daemon(["true"])
    const s1 = await first.session()
    expect((await s1.request(C.agentInitialized("init"))).payload?.$case).toBe("done")
    await first.ns.signal("SIGTERM")
    await first.ns.exited
    const second = await daemon(["true"], { stateDir: first.stateDir })
    const s2 = await second.session()
    expect((await s2.request(C.hello("h"))).payload).toEqual({
      $case: "helloAck",
      value: { initialized: true, cmdRunning: false }
    })
    await second.ns.signal("SIGTERM")
    expect((await second.ns.exited).code).toBe(1)
  })

  it("listener port already in use: exit 1 with the reason", async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      const d = await daemon(["true"], { listen: `127.0.0.1:${port}` })
      expect((await d.ns.exited).code).toBe(1)
      expect(d.ns.stderr()).toContain(`clawkerd: startup failed: listen 127.0.0.1:${port}:`)
      expect(d.events("clawkerd_listener_start_failed")).toHaveLength(1)
    } finally {
      blocker.close()
    }
  })

  it("orphans of the CMD are reaped while it runs and after it", async () => {
    const d = await daemon([
      "sh",
      "-c",
      "for i in $(seq 100); do (sleep 0.01 &) ; done; echo spawned; read go; (sleep 300 &) ; exit 0"
    ])
    const s = await d.session()
    expect((await s.request(C.agentReady("ready"))).payload?.$case).toBe("done")
    await d.ns.line(/^spawned$/)
    const init = await d.ns.pid()
    const zombies = () => descendantsOf(init, readProcTable()).filter((p) => p.state === "Z").length
    await waitFor(() => zombies() === 0, 10_000, "no zombie left while the CMD runs")
    expect(descendantsOf(init, readProcTable()).some((p) => p.pid !== init)).toBe(true)
    d.ns.write("go\n")
    expect((await d.ns.exited).code).toBe(0)
    expect(d.events("orphan_drain_done")).toMatchObject([{ survivors: 0, terminated: 1 }])
    expect(d.events("spawn_orphan_reaped").length).toBeGreaterThanOrEqual(100)
  })
})
