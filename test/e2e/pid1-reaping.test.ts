import { describe, expect, it } from "vitest"
import { pidNamespaceUnavailable } from "../support/pidns.js"
import { runSupervised } from "../support/supervisorRun.js"
import { waitFor } from "../support/wait.js"

const skip = pidNamespaceUnavailable()
if (skip !== undefined) console.log(`PID 1 reaping tests skipped: ${skip}`)

/**
 * 200 orphans: each `sh -c 'true &'` exits and leaves its `true` to PID 1. The CMD then watches the
 * namespace's /proc until no zombie is left (bounded, so a reaper that does nothing fails with
 * "zombies-left" instead of a hang), and keeps running.
 */
const ORPHANING_CMD = [
  "for i in $(seq 200); do sh -c 'true &'; done",
  "n=0",
  "while grep -qs '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat; do",
  "  n=$((n + 1)); if [ $n -gt 3000 ]; then echo zombies-left; exit 9; fi; sleep 0.01",
  "done",
  "echo no-zombies",
  "exec sleep 1000"
].join("\n")

/** Two orphans outlive the CMD: one honours SIGTERM, one ignores it (ready once it became `sleep`). */
const LEAVING_CMD = [
  "sleep 1000 &",
  "( trap '' TERM; exec sleep 1001 ) &",
  "until grep -qs '(sleep)' /proc/$!/stat; do sleep 0.01; done",
  "echo orphans-ready",
  "exit 3"
].join("\n")

describe.skipIf(skip !== undefined)("PID 1: reaping", () => {
  it("200 orphaned grandchildren leave no zombie while the user CMD keeps running", async () => {
    const run = await runSupervised(["sh", "-c", ORPHANING_CMD])
    expect(await run.ns.line(/^(no-zombies|zombies-left)$/)).toBe("no-zombies")
    await waitFor(() => run.events("spawn_orphan_reaped").length >= 200, 10_000, "200 orphan_reaped events")
    expect(run.events("spawn_main_reaped")).toHaveLength(0)
    await run.ns.signal("SIGTERM")
    expect((await run.ns.exited).code).toBe(143)
    expect(run.events("spawn_orphan_reaped")).toHaveLength(200)
    expect(run.events("spawn_orphan_reaped").every((e) => e.code === 0)).toBe(true)
    expect(run.events("orphan_drain_done")).toMatchObject([{ terminated: 0, killed: 0, survivors: 0 }])
  })

  it("orphans that outlive the CMD get a grace, then SIGTERM, then SIGKILL a grace later, and are reaped", async () => {
    const run = await runSupervised(["sh", "-c", LEAVING_CMD], { env: { CLAWKERD_STOP_GRACE: "300 millis" } })
    await run.ns.line(/^orphans-ready$/)
    expect((await run.ns.exited).code).toBe(3)
    expect(run.events("orphan_drain_started")).toMatchObject([{ orphans: 2, grace: 300 }])
    expect(run.events("spawn_orphan_drain_timeout")).toMatchObject([{ orphans: 2 }])
    expect(run.events("spawn_orphan_killed")).toMatchObject([{ orphans: 1 }])
    expect(run.events("orphan_drain_done")).toMatchObject([
      { reaped: 2, terminated: 2, killed: 1, survivors: 0, gaveUp: false }
    ])
    expect(new Set(run.events("spawn_orphan_reaped").map((e) => e.signal))).toEqual(new Set([9, 15]))
    expect(run.events("spawn_orphan_drain_giveup")).toHaveLength(0)
  })
})
