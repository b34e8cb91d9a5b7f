import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, Result } from "effect"
import { TestClock } from "effect/testing"
import type { OAuthServerOptions } from "../../devkit/oauthServer.js"
import { startOAuthServer } from "../../devkit/oauthServer.js"
import { mintAuthority, mintLeaf } from "../../devkit/pki.js"
import { BootstrapStoreFromDir } from "../../src/layers/bootstrap/BootstrapStoreLive.js"
import { HydraLive } from "../../src/layers/register/HydraLive.js"
import { BootstrapStore } from "../../src/services/BootstrapStore.js"
import { Hydra } from "../../src/services/Hydra.js"
import { configFrom } from "../support/config.js"
import { captureLogs } from "../support/logs.js"
import type { Rig } from "../support/registerRig.js"
import { rigScoped } from "../support/registerRig.js"

/*
 * Hydra.exchange against a real OAuth2 server over real TLS: the exact request, what counts as
 * consumed, and which servers clawkerd must refuse to talk to at all.
 */

const hydraLayer = (rig: Rig, hydraUrl: string) =>
  HydraLive.pipe(
    Layer.provideMerge(
      Layer.merge(
        configFrom({ CLAWKER_CP_HYDRA_URL: hydraUrl }),
        BootstrapStoreFromDir(rig.bootstrapDir).pipe(Layer.provide(NodeFileSystem.layer), Layer.orDie)
      )
    )
  )

/** One exchange of the bootstrap assertion; the result as an Either, plus the log lines. */
const exchange = (rig: Rig, hydraUrl = rig.oauth.url) => {
  const logs = captureLogs()
  return Effect.gen(function*() {
    const hydra = yield* Hydra
    const { assertion } = yield* BootstrapStore
    return yield* Effect.result(hydra.exchange(assertion))
  }).pipe(
    Effect.provide(hydraLayer(rig, hydraUrl)),
    Effect.provide(logs.layer),
    Effect.map((result) => ({ result, logs }))
  )
}

const failureOf = <A, E>(result: Result.Result<A, E>): E | undefined =>
  Result.isFailure(result) ? result.failure : undefined

const otherServer = (options: Omit<OAuthServerOptions, "clientJwk">, rig: Rig) =>
  Effect.acquireRelease(
    Effect.promise(() => startOAuthServer({ ...options, clientJwk: rig.signer.publicJwk })),
    (server) => Effect.promise(() => server.close())
  )

describe("Hydra token exchange", () => {
  it.effect("sends exactly the spec's request and returns the issued token, redacted", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      // A trailing slash on the base URL is trimmed before /oauth2/token is appended.
      const { logs, result } = yield* exchange(rig, `${rig.oauth.url}/`)
      const token = Result.getOrThrow(result)
      expect(String(token)).not.toContain(rig.oauth.issuedTokens[0])
      expect(Redacted.value(token)).toBe(rig.oauth.issuedTokens[0])
      expect(yield* Effect.promise(() => rig.oauth.verifyAccessToken(Redacted.value(token)))).toBe(true)

      expect(rig.oauth.requests).toHaveLength(1)
      const [request] = rig.oauth.requests
      expect(request).toMatchObject({
        method: "POST",
        path: "/oauth2/token",
        contentType: "application/x-www-form-urlencoded",
        status: 200
      })
      expect(request?.form).toEqual({
        grant_type: "client_credentials",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: rig.assertion,
        scope: "agent:self:register"
      })
      expect(logs.events("token_exchange_attempt")).toEqual([
        expect.objectContaining({ level: "info", url: `${rig.oauth.url}/oauth2/token` })
      ])
      expect(logs.events("token_acquired")).toEqual([expect.objectContaining({ level: "info", expires_in: 300 })])
    }))

  it.effect("checks the server as clawker-controlplane whatever host the URL names", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped({ oauth: { host: "localhost" } })
      expect(rig.oauth.url).toMatch(/^https:\/\/localhost:\d+$/)
      // The cert has no "localhost" name; only the constant server name makes this work.
      const { result } = yield* exchange(rig)
      expect(failureOf(result)).toBeUndefined()
      expect(rig.oauth.requests).toEqual([expect.objectContaining({ status: 200 })])
    }))

  describe("answers that consume the assertion", () => {
    const cases = [
      {
        fault: { kind: "status", status: 400, body: "{\"error\":\"invalid_request\"}" },
        kind: "http_status",
        status: 400
      },
      { fault: { kind: "status", status: 503, body: "x".repeat(5000) }, kind: "http_status", status: 503 },
      { fault: { kind: "garbage_json" }, kind: "bad_json", status: 200 },
      { fault: { kind: "empty_token" }, kind: "empty_token", status: 200 },
      { fault: { kind: "token_type", tokenType: "mac" }, kind: "bad_token_type", status: 200 }
    ] as const
    for (const c of cases) {
      it.effect(`${c.fault.kind} ${"status" in c.fault ? c.fault.status : ""}`, () =>
        Effect.gen(function*() {
          const rig = yield* rigScoped()
          rig.oauth.setFault(c.fault)
          const { logs, result } = yield* exchange(rig)
          const error = failureOf(result)
          expect(error).toMatchObject({ kind: c.kind, consumed: true, status: c.status })
          expect(error?.message.length).toBeLessThan(300)
          expect(logs.events("token_exchange_failed")).toEqual([
            expect.objectContaining({ kind: c.kind, assertion_consumed: true, status: c.status })
          ])
        }))
    }
  })

  it.effect("a server that never answers: timeout after 10 s of Effect time, not consumed", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      rig.oauth.setFault({ kind: "hang" })
      const pending = yield* Effect.forkChild(exchange(rig))
      yield* Effect.promise(() => rig.oauth.waitForRequests(1))
      yield* TestClock.adjust("9999 millis")
      expect(pending.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const { result } = yield* Fiber.join(pending)
      expect(failureOf(result)).toMatchObject({
        kind: "timeout",
        consumed: false
      })
    }))

  describe("servers clawkerd must not talk to: refused at TLS, not consumed, nothing reaches them", () => {
    const refused = (
      name: string,
      make: (rig: Rig) => Promise<Omit<OAuthServerOptions, "clientJwk">>,
      reason: RegExp
    ) =>
      it.effect(name, () =>
        Effect.gen(function*() {
          const rig = yield* rigScoped()
          const server = yield* otherServer(yield* Effect.promise(() => make(rig)), rig)
          const { logs, result } = yield* exchange(rig, server.url)
          const error = failureOf(result)
          expect(error).toMatchObject({ kind: "not_reached", consumed: false })
          expect(error?.message).toMatch(reason)
          expect(server.requests).toHaveLength(0)
          expect(logs.events("token_exchange_failed")).toEqual([
            expect.objectContaining({ kind: "not_reached", assertion_consumed: false })
          ])
        }))

    refused(
      "certificate without the clawker-controlplane name (but valid for 127.0.0.1)",
      async (rig) => ({
        serverCert: await mintLeaf(rig.deployment.ca, {
          cn: "hydra",
          eku: ["serverAuth"],
          dns: ["localhost"],
          ips: ["127.0.0.1"]
        })
      }),
      /ERR_TLS_CERT_ALTNAME_INVALID.*clawker-controlplane/
    )
    refused(
      "certificate from another CA",
      async () => ({
        serverCert: await mintLeaf(await mintAuthority("someone else's CA"), {
          cn: "clawker-controlplane",
          eku: ["serverAuth"],
          dns: ["clawker-controlplane"],
          ips: ["127.0.0.1"]
        })
      }),
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/
    )
    refused(
      "TLS 1.2 only",
      async (rig) => ({ serverCert: rig.deployment.cpServer, tls: { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" } }),
      /protocol version|ERR_SSL/
    )
  })

  it.effect("no CLAWKER_CP_HYDRA_URL: not configured, not consumed", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      const { result } = yield* exchange(rig, "")
      expect(failureOf(result)).toMatchObject({
        kind: "not_configured",
        consumed: false,
        message: "CLAWKER_CP_HYDRA_URL unset; cannot exchange assertion"
      })
      expect(rig.oauth.requests).toHaveLength(0)
    }))
})
