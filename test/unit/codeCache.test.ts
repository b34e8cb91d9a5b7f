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

  it("leaves the Register path out of the boot: evaluated by the first Register that needs it", () => {
    assertBuilt()
    const source = fs.readFileSync(bundlePath, "latin1")
    // esbuild hoists a module evaluated at load into the bundle's top level; one it may evaluate later is
    // wrapped as `init_<name> = __esm(...)`, run by its first import.
    for (const module of ["HydraLive", "cpRegister", "agent"]) {
      expect(source).toMatch(new RegExp(`\\binit_${module}\\s*=\\s*__esm\\(`))
    }
    // Hydra's client and AgentService's client are dynamic imports; the generated client only cpRegister's.
    for (const module of ["HydraLive", "cpRegister"]) {
      const calls = source.match(new RegExp(`\\binit_${module}\\(\\)`, "g")) ?? []
      const imports = source.match(
        new RegExp(`Promise\\.resolve\\(\\)\\.then\\(\\(\\)\\s*=>\\s*\\(init_${module}\\(\\)`, "g")
      )
      expect(imports ?? []).toHaveLength(calls.length)
      expect(calls.length).toBeGreaterThan(0)
    }
    expect(source.match(/\binit_agent\(\)/g)).toHaveLength(1)
  })
})
