import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type { OAuthFault } from "../../devkit/oauthServer.js"
import { Registrar } from "../../src/services/Registrar.js"
import { captureLogs } from "../support/logs.js"
import type { Rig, RigOptions } from "../support/registerRig.js"
import { registrarLayer, rigScoped } from "../support/registerRig.js"

/*
 * The assertion and the access token are bearer secrets: whatever happens, neither may show up in
 * a log line or in what RegisterDone carries. Every path of the handshake runs here with its log
 * captured, and the text is searched for the secrets (whole, and the signature part on its own).
 */

const register = Effect.flatMap(Registrar, (r) => r.register)

interface Scenario {
  readonly name: string
  readonly rig?: RigOptions
  readonly fault?: OAuthFault
  readonly prepare?: (rig: Rig) => Promise<void>
  readonly env?: (rig: Rig) => Record<string, string>
  /** The server issued a real token (clawkerd received it, maybe inside a faulty answer). */
  readonly issuesToken?: true
  /** The calls to make, given the registrar; defaults to two in a row. */
  readonly drive?: (rig: Rig) => Effect.Effect<ReadonlyArray<unknown>, never, Registrar>
}

const nowSeconds = Math.floor(Date.now() / 1000)

const scenarios: ReadonlyArray<Scenario> = [
  { name: "success", issuesToken: true },
  { name: "expired assertion", rig: { assertion: { nowSeconds: nowSeconds - 600, expiresInSeconds: 60 } } },
  { name: "OAuth2 server down", prepare: (rig) => rig.stopOAuth() },
  { name: "400", fault: { kind: "status", status: 400, body: "{\"error\":\"invalid_request\"}" } },
  { name: "500", fault: { kind: "status", status: 500, body: "internal" } },
  { name: "garbage JSON", fault: { kind: "garbage_json" }, issuesToken: true },
  { name: "empty token", fault: { kind: "empty_token" }, issuesToken: true },
  { name: "token_type mac", fault: { kind: "token_type", tokenType: "mac" }, issuesToken: true },
  { name: "CP down", prepare: (rig) => rig.cp.close(), issuesToken: true },
  { name: "PermissionDenied", rig: { answer: "permission_denied" }, issuesToken: true },
  {
    name: "missing CLAWKER_CP_AGENT_ADDR",
    env: (rig) => ({ CLAWKER_CP_HYDRA_URL: rig.env.CLAWKER_CP_HYDRA_URL ?? "" })
  },
  {
    name: "timeout",
    fault: { kind: "hang" },
    drive: (rig) =>
      Effect.gen(function*() {
        const slow = yield* Effect.forkChild(register)
        yield* Effect.promise(() => rig.oauth.waitForRequests(1))
        yield* TestClock.adjust("10 seconds")
        return [yield* Fiber.join(slow)]
      })
  },
  {
    name: "concurrent",
    issuesToken: true,
    drive: () => Effect.all([register, register, register], { concurrency: "unbounded" })
  }
]

/** The secret itself and its signature part (what a partial leak would most likely carry). */
const forms = (jwt: string): ReadonlyArray<string> => [jwt, jwt.split(".")[2] ?? jwt]

describe("no secret in any log line or RegisterDone", () => {
  for (const scenario of scenarios) {
    it.effect(scenario.name, () =>
      Effect.gen(function*() {
        const rig = yield* rigScoped(scenario.rig)
        if (scenario.fault !== undefined) rig.oauth.setFault(scenario.fault)
        if (scenario.prepare !== undefined) yield* Effect.promise(() => scenario.prepare!(rig))
        const logs = captureLogs()
        const drive = scenario.drive?.(rig) ?? Effect.all([register, register])
        const outcomes = yield* drive.pipe(
          Effect.provide(registrarLayer(rig, scenario.env?.(rig) ?? rig.env)),
          Effect.provide(logs.layer)
        )
        const text = [...logs.lines, JSON.stringify(outcomes)].join("\n")
        const secrets = [rig.assertion, ...rig.oauth.issuedTokens].flatMap(forms)
        expect(logs.lines.length).toBeGreaterThan(0)
        if (scenario.issuesToken) expect(rig.oauth.issuedTokens).toHaveLength(1)
        for (const secret of secrets) expect(text).not.toContain(secret)
      }))
  }
})
