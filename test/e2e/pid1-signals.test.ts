import { describe, expect, it } from "vitest"
import { pidNamespaceUnavailable } from "../support/pidns.js"
import { runSupervised } from "../support/supervisorRun.js"

const skip = pidNamespaceUnavailable()
if (skip !== undefined) console.log(`PID 1 signal tests skipped: ${skip}`)

/**
 * A user CMD whose shell traps each signal and says so, with a second member of its process group
 * (a background subshell) that does the same for SIGUSR1: forwarding must reach the group.
 */
const TRAPPING_CMD = [
  "for s in USR1 USR2 HUP WINCH INT; do trap \"echo got-$s\" $s; done",
  "trap 'echo got-TERM; exit 0' TERM",
  "( trap 'echo member-got-USR1' USR1; trap 'exit 0' TERM; echo member-ready; while :; do sleep 0.05; done ) &",
  "echo ready",
  "while :; do sleep 0.05; done"
].join("\n")

describe.skipIf(skip !== undefined)("PID 1: signals", () => {
  it("SIGUSR1, SIGUSR2, SIGHUP and SIGWINCH sent to PID 1 reach the child's group; SIGTERM stops it", async () => {
    const run = await runSupervised(["sh", "-c", TRAPPING_CMD])
    await run.ns.line(/^ready$/)
    await run.ns.line(/^member-ready$/)
    await run.ns.signal("SIGUSR1")
    await run.ns.line(/^got-USR1$/)
    await run.ns.line(/^member-got-USR1$/)
    for (const signal of ["USR2", "HUP", "WINCH"] as const) {
      await run.ns.signal(`SIG${signal}`)
      await run.ns.line(new RegExp(`^got-${signal}$`))
    }
    await run.ns.signal("SIGTERM")
    await run.ns.line(/^got-TERM$/)
    expect((await run.ns.exited).code).toBe(0)
    expect(run.events("shutdown_signal_received")).toMatchObject([{ signal: "SIGTERM", first: true }])
    expect(run.events("spawn_stop_sigterm")).toHaveLength(1)
    expect(run.events("spawn_stop_sigkill")).toHaveLength(0)
    expect(run.events("signal_forwarded").map((e) => e.signal)).toEqual(["SIGUSR1", "SIGUSR2", "SIGHUP", "SIGWINCH"])
  })

  it("SIGINT to PID 1 reaches the group as SIGINT, first, and starts shutdown (stop's SIGTERM follows)", async () => {
    const run = await runSupervised(["sh", "-c", TRAPPING_CMD])
    await run.ns.line(/^member-ready$/)
    await run.ns.line(/^ready$/)
    await run.ns.signal("SIGINT")
    await run.ns.line(/^got-TERM$/)
    expect((await run.ns.exited).code).toBe(0)
    const lines = run.ns.lines()
    expect(lines).toContain("got-INT")
    expect(lines.indexOf("got-INT")).toBeLessThan(lines.indexOf("got-TERM"))
    expect(run.events("shutdown_signal_received")).toMatchObject([{ signal: "SIGINT" }])
    expect(run.events("signal_forwarded").map((e) => e.signal)).toEqual(["SIGINT"])
  })

  it("a child that ignores SIGTERM is SIGKILLed after the grace", async () => {
    const run = await runSupervised(["sh", "-c", "trap '' TERM; echo ready; exec sleep 1000"], {
      env: { CLAWKERD_STOP_GRACE: "300 millis" }
    })
    await run.ns.line(/^ready$/)
    await run.ns.signal("SIGTERM")
    expect((await run.ns.exited).code).toBe(137)
    expect(run.events("spawn_stop_sigkill")).toMatchObject([{ grace: 300 }])
    expect(run.events("spawn_main_reaped")).toMatchObject([{ signal: 9, exit_code: 137 }])
  })

  it("SIGTERM with the CMD honouring it exits 143", async () => {
    const run = await runSupervised(["sh", "-c", "echo ready; exec sleep 1000"])
    await run.ns.line(/^ready$/)
    await run.ns.signal("SIGTERM")
    expect((await run.ns.exited).code).toBe(143)
  })
})
