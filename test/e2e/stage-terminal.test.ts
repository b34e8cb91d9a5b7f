import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { descendantsOf, readProcTable } from "../../src/layers/reaper/procTable.js"
import * as C from "../../src/programs/cp/commands.js"
import { outputOf } from "../../src/programs/cp/cpClient.js"
import { TESTER } from "../support/accounts.js"
import type { DaemonRun } from "../support/daemonInNamespace.js"
import { daemonsOfFile } from "../support/daemonsOfFile.js"
import { pidNamespaceUnavailable } from "../support/pidns.js"
import { waitFor } from "../support/wait.js"

/*
 * ShellCommand stages in a container run with a TTY (`docker run -t`, clawker's default): the built
 * daemon as PID 1 of a PID namespace under a pseudo-terminal, holding it as its controlling terminal.
 * Before AgentReady a step that reads or configures /dev/tty works, as under the reference, and its
 * timeout still reaches what it started in the background.
 */

const unavailable = pidNamespaceUnavailable()
if (unavailable !== undefined) console.warn(`skipping stage terminal e2e tests: ${unavailable}`)
const daemons = daemonsOfFile(unavailable)

/** Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, session, tty_nr, tpgid, ...]. */
const statOf = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
}

/** The terminal's foreground group is PID 1's own group again (both as this namespace numbers them). */
const clawkerdHoldsTerminal = async (d: DaemonRun) => {
  const [, , pgrp, , , tpgid] = statOf(await d.ns.pid())
  return tpgid === pgrp
}

const alive = (pid: number) => {
  try {
    return !["Z", "X"].includes(statOf(pid)[0] ?? "X")
  } catch {
    return false
  }
}

describe.skipIf(unavailable !== undefined)("stages on clawkerd's terminal", () => {
  it("before AgentReady a stage configures and reads /dev/tty (stty, read from the terminal), as root and as the user; then the CMD takes the terminal", async () => {
    const d = await daemons.start([
      "sh",
      "-c",
      "echo \"cmd tpgid $(cut -d' ' -f8 /proc/$$/stat) pgid $(cut -d' ' -f5 /proc/$$/stat)\"; sleep 1000"
    ], { tty: true })
    const s = await d.session()
    expect(await clawkerdHoldsTerminal(d)).toBe(true)
    const script = "stty sane </dev/tty && echo prompt && read x </dev/tty && echo \"got $x\""
    for (const [id, options] of [["as-root", {}], ["as-user", { uid: TESTER.uid, gid: TESTER.gid }]] as const) {
      s.send(C.shell(id, [C.stage(["sh", "-c", script], options)], { timeoutSeconds: 60 }))
      await waitFor(
        () => outputOf(s.received.filter((r) => r.commandId === id)).toString() === "prompt\n",
        30_000,
        "prompt"
      )
      d.ns.write(`typed-${id}\n`)
      const replies = await s.collectUntilTerminal(id)
      expect(outputOf(replies).toString()).toBe(`prompt\ngot typed-${id}\n`)
      expect(replies.at(-1)?.payload).toEqual({ $case: "done", value: { finalExitCode: 0 } })
      // The terminal went back to clawkerd with the command's end.
      expect(await clawkerdHoldsTerminal(d)).toBe(true)
    }
    expect(d.events("tty_foreground_reclaim_failed")).toEqual([])

    expect((await s.request(C.agentReady("ready"))).payload?.$case).toBe("done")
    const [, tpgid, pgid] = /^cmd tpgid (\d+) pgid (\d+)$/.exec(await d.ns.line(/^cmd tpgid /)) ?? []
    expect(tpgid).toBe(pgid)
    expect(await d.events("spawn_started")).toMatchObject([{ foreground: true }])
    await d.ns.signal("SIGTERM")
    expect((await d.ns.exited).code).toBe(143)
  })

  it("a stage's timeout kills what it left in the background of its group, and answers though a setsid'd process holds the output", async () => {
    const d = await daemons.start(["sleep", "1000"], { tty: true })
    const s = await d.session()
    // Waits on the terminal, with a sleep of its group in the background and one in a session of its own.
    const script = "sleep 1000 & echo bg $!; setsid sh -c 'echo setsid $$; exec sleep 1000' & read x </dev/tty"
    s.send(C.shell("hung", [C.stage(["sh", "-c", script])], { timeoutSeconds: 1 }))
    const replies = await s.collectUntilTerminal("hung")
    expect(replies.at(-1)?.payload).toEqual({
      $case: "error",
      value: { code: ErrorCode.ERROR_CODE_TIMEOUT, message: "pipeline killed after 1s timeout" }
    })
    const text = outputOf(replies).toString()
    const background = Number(/^bg (\d+)$/m.exec(text)?.[1])
    const setsid = Number(/^setsid (\d+)$/m.exec(text)?.[1])
    // Both numbered inside the namespace: found from outside among PID 1's descendants.
    const init = await d.ns.pid()
    const outside = (nspid: number) =>
      descendantsOf(init, readProcTable()).find((p) => {
        try {
          return /^NSpid:\s*(.*)$/m.exec(fs.readFileSync(`/proc/${p.pid}/status`, "utf8"))?.[1]?.trim().split(/\s+/)
            .at(-1) === String(nspid)
        } catch {
          return false
        }
      })?.pid
    // The reply came while the setsid'd process still holds the output pipe: it was not waited for.
    const holder = outside(setsid)
    expect(holder !== undefined && alive(holder)).toBe(true)
    await waitFor(
      () => {
        const pid = outside(background)
        return pid === undefined || !alive(pid)
      },
      10_000,
      "the background sleep of the stage's group to be killed"
    )
    expect(await clawkerdHoldsTerminal(d)).toBe(true)
    process.kill(holder!, "SIGKILL")
    await d.ns.signal("SIGTERM")
    expect((await d.ns.exited).code).toBe(1)
  })
})
