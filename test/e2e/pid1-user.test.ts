import { describe, expect, it } from "vitest"
import { TESTER } from "../support/accounts.js"
import { pidNamespaceUnavailable } from "../support/pidns.js"
import { runSupervised } from "../support/supervisorRun.js"

const skip = pidNamespaceUnavailable()
if (skip !== undefined) console.log(`PID 1 user/terminal tests skipped: ${skip}`)

/** Field n (1-based) of /proc/$$/stat, from the CMD's own shell; sh's comm has no spaces. */
const statField = (n: number) => `$(cut -d' ' -f${n} /proc/$$/stat)`

describe.skipIf(skip !== undefined)("PID 1: the user CMD's identity", () => {
  it("runs with the target uid, gid, supplementary groups, no capabilities, and its own process group", async () => {
    const run = await runSupervised([
      "sh",
      "-c",
      `grep -E '^(Uid|Gid|Groups|CapEff):' /proc/$$/status; echo "pid $$ pgid ${statField(5)}"`
    ])
    expect((await run.ns.exited).code).toBe(0)
    const lines = run.ns.lines()
    const u = TESTER.uid
    const g = TESTER.gid
    expect(lines).toContain(`Uid:\t${u}\t${u}\t${u}\t${u}`)
    expect(lines).toContain(`Gid:\t${g}\t${g}\t${g}\t${g}`)
    // Only the groups that list the user: the primary gid is not added (moby's rules).
    expect(lines).toContain(`Groups:\t${TESTER.extraGroup} `)
    expect(lines).toContain("CapEff:\t0000000000000000")
    const [, pid, pgid] = /^pid (\d+) pgid (\d+)$/.exec(lines.find((l) => l.startsWith("pid ")) ?? "") ?? []
    expect(pgid).toBe(pid)
    expect(run.events("spawn_started")).toMatchObject([{ pid: Number(pid), uid: u, gid: g, foreground: false }])
  })

  it("--help routing: an option as argv[0] runs default_cmd (one program) followed by the argv", async () => {
    const run = await runSupervised(["--help", "routed"], { env: { HARNESS_DEFAULT_CMD: "echo" } })
    expect((await run.ns.exited).code).toBe(0)
    expect(run.ns.lines()).toContain("--help routed")
    expect(run.events("spawn_argv_routed_to_default_cmd")).toMatchObject([{
      level: "warn",
      argv: ["--help", "routed"]
    }])
  })

  it("AgentReady three times at once starts one child", async () => {
    const run = await runSupervised(["sh", "-c", "echo once"], { env: { HARNESS_SPAWNS: "3" } })
    expect((await run.ns.exited).code).toBe(0)
    expect(run.ns.lines().filter((l) => l === "once")).toHaveLength(1)
    expect(run.events("spawn_started")).toHaveLength(1)
    const [spawned] = run.events("harness_spawned")
    expect([...(spawned?.outcomes as Array<string>)].sort()).toEqual(["already-spawned", "already-spawned", "spawned"])
  })
})

describe.skipIf(skip !== undefined)("PID 1 on a terminal", () => {
  it("the child's group is the terminal's foreground group, and Ctrl-C reaches it, not clawkerd", async () => {
    const run = await runSupervised([
      "sh",
      "-c",
      [
        "trap 'echo child-got-INT; exit 130' INT",
        `echo "pgid ${statField(5)} tpgid ${statField(8)}"`,
        "echo ready",
        "while :; do sleep 0.05; done"
      ].join("\n")
    ], { tty: true })
    await run.ns.line(/^ready$/)
    const [, pgid, tpgid] = /^pgid (\d+) tpgid (\d+)$/.exec(await run.ns.line(/^pgid /)) ?? []
    expect(tpgid).toBe(pgid)
    expect(await run.event("spawn_started")).toMatchObject({ pid: Number(pgid), foreground: true })
    run.ns.write("\x03")
    await run.ns.line(/child-got-INT/)
    expect((await run.ns.exited).code).toBe(130)
    expect(run.events("shutdown_signal_received")).toHaveLength(0)
    expect(run.events("spawn_main_reaped")).toMatchObject([{ exit_code: 130 }])
    expect(run.events("tty_foreground_reclaim_failed")).toHaveLength(0)
  })
})
