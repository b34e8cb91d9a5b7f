import { describe, expect, it } from "vitest"
import { checkDispatcher } from "./support/dispatcherRun.js"
import { shellRigUnderTest } from "./support/rigs.js"

/*
 * Random Command sequences against a live Session over real mTLS with real pipelines behind it
 * (fast-check). The invariants are in support/dispatcherRun.ts: one answer per ShellCommand, one
 * HelloAck per Hello, no reply for an id never sent but the spec's empty-id errors, no process left
 * once the Session ends, no crash event, and (here) no unhandled rejection.
 */

/** The short suite's scale; test/soak runs 400 sequences of up to 80. */
const RUNS = 40
const MAX_OPS = 40

const under = shellRigUnderTest()

describe("the Session dispatcher under random Command sequences", () => {
  it(`${RUNS} sequences of up to ${MAX_OPS} Commands keep every invariant`, async () => {
    const totals = await checkDispatcher(under.rig(), RUNS, MAX_OPS)
    console.log(`dispatcher property: ${JSON.stringify(totals)}`)
    expect(totals.runs).toBe(RUNS)
    expect(under.unhandled).toEqual([])
  }, 120_000)
})
