import { describe, expect, it } from "vitest"
import { checkDispatcher } from "../reliability/support/dispatcherRun.js"
import { shellRigUnderTest } from "../reliability/support/rigs.js"

/** The property-based dispatcher test at soak scale (the normal suite runs 40 sequences of up to 40). */
const RUNS = 400
const MAX_OPS = 80

const under = shellRigUnderTest()

describe("soak: the Session dispatcher under random Command sequences", () => {
  it(`${RUNS} sequences of up to ${MAX_OPS} Commands keep every invariant`, async () => {
    const totals = await checkDispatcher(under.rig(), RUNS, MAX_OPS)
    console.log(`soak dispatcher property: ${JSON.stringify(totals)}`)
    expect(totals.runs).toBe(RUNS)
    expect(under.unhandled).toEqual([])
  })
})
