import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { cacheFileOf, compileBundle } from "../../src/programs/codeCache.js"
import { assertBuilt, bundlePath } from "../support/daemon.js"

/** The shipped bundle and its V8 code cache, as `npm run build` leaves them (npm test builds first). */
describe("the daemon bundle", () => {
  it("is ASCII, as the latin1 read assumes", () => {
    assertBuilt()
    expect(fs.readFileSync(bundlePath).every((byte) => byte < 0x80)).toBe(true)
  })

  it("compiles with its code cache, which this Node accepts", () => {
    assertBuilt()
    expect(fs.statSync(cacheFileOf(bundlePath)).size).toBeGreaterThan(100_000)
    expect(compileBundle(bundlePath).cachedDataRejected).toBe(false)
  })
})
