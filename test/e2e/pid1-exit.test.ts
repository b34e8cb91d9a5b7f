import { describe, expect, it } from "vitest"
import { pidNamespaceUnavailable } from "../support/pidns.js"
import { runSupervised } from "../support/supervisorRun.js"

const skip = pidNamespaceUnavailable()
if (skip !== undefined) console.log(`PID 1 tests skipped: ${skip}`)

describe.skipIf(skip !== undefined)("PID 1: the user CMD's exit status is clawkerd's", () => {
  it.each([0, 1, 2, 127, 255])("exit %i passes through", async (code) => {
    const run = await runSupervised(["sh", "-c", `exit ${code}`])
    expect((await run.ns.exited).code).toBe(code)
    expect(run.events("spawn_main_reaped")).toMatchObject([{ code, signal: null, exit_code: code }])
  })

  it.each([
    { signal: "TERM", number: 15 },
    { signal: "HUP", number: 1 },
    { signal: "KILL", number: 9 }
  ])("killed by SIG$signal → 128 + $number", async ({ number, signal }) => {
    const run = await runSupervised(["sh", "-c", `kill -${signal} $$`])
    expect((await run.ns.exited).code).toBe(128 + number)
    expect(run.events("spawn_main_reaped")).toMatchObject([{ code: null, signal: number }])
  })
})
