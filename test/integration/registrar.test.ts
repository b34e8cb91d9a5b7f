import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type { AddressInfo } from "node:net"
import * as tls from "node:tls"
import { certThumbprint, startAgentService } from "../../devkit/agentService.js"
import { mintLeaf } from "../../devkit/pki.js"
import { Registrar } from "../../src/services/Registrar.js"
import { captureLogs } from "../support/logs.js"
import type { Rig } from "../support/registerRig.js"
import { registrarLayer, rigScoped } from "../support/registerRig.js"

/*
 * The Register handshake against a real OAuth2 server (oidc-provider, standing in for Hydra) and a
 * real CP AgentService on mTLS. Each test builds its own clawkerd Registrar the way main does.
 */

const register = Effect.flatMap(Registrar, (r) => r.register)

/** Runs `body` with a fresh Registrar (a fresh clawkerd process, as far as Register is concerned). */
const withRegistrar = <A, E>(
  rig: Rig,
  body: Effect.Effect<A, E, Registrar>,
  env: Readonly<Record<string, string>> = rig.env
) => {
  const logs = captureLogs()
  return body.pipe(
    Effect.provide(registrarLayer(rig, env)),
    Effect.provide(logs.layer),
    Effect.map((result) => ({ result, logs }))
  )
}

const tokenRequests = (rig: Rig) => rig.oauth.requests.filter((r) => r.path === "/oauth2/token")

describe("Registrar: the one-time Register handshake", () => {
  it.effect("success: Hydra token, mTLS Register as the agent leaf, Welcome", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      const { logs, result } = yield* withRegistrar(rig, register)
      expect(result).toEqual({ ok: true, error: "" })

      expect(rig.cp.calls).toHaveLength(1)
      const [call] = rig.cp.calls
      expect(call).toMatchObject({
        thumbprint: certThumbprint(rig.deployment.agent.certPem),
        uriSan: `urn:clawker:container:${rig.deployment.containerId}`,
        agentName: "dev",
        project: "demo",
        tokenValid: true,
        answered: "welcome"
      })
      expect(tokenRequests(rig)).toHaveLength(1)
      expect(logs.events("token_exchange_attempt")).toEqual([
        expect.objectContaining({ url: `${rig.oauth.url}/oauth2/token` })
      ])
      expect(logs.events("token_acquired")).toEqual([expect.objectContaining({ expires_in: 300 })])
      expect(logs.events("register_dial")).toEqual([expect.objectContaining({ addr: rig.cp.address })])
      expect(logs.events("register_rpc_ok")).toHaveLength(1)
    }))

  it.effect("the same assertion again: the server refuses the replay; clawkerd replays its outcome without sending", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      const first = yield* withRegistrar(rig, Effect.zip(register, register))
      expect(first.result).toEqual([{ ok: true, error: "" }, { ok: true, error: "" }])
      expect(tokenRequests(rig)).toHaveLength(1)
      expect(first.logs.events("register_replay_short_circuit")).toHaveLength(1)

      // A second process with the same bootstrap sends the assertion again: the server refuses it.
      const second = yield* withRegistrar(rig, Effect.zip(register, register))
      const [refused, replayed] = second.result
      expect(refused.ok).toBe(false)
      expect(refused.error).toMatch(/^hydra token exchange: hydra returned 401: .*invalid_client/)
      expect(replayed).toEqual(refused)
      expect(tokenRequests(rig).map((r) => [r.status, r.errorDetail])).toEqual([
        [200, undefined],
        [401, "client assertion tokens must only be used once"]
      ])
      expect(second.logs.events("token_exchange_failed")).toEqual([
        expect.objectContaining({ kind: "http_status", assertion_consumed: true, status: 401 })
      ])
      expect(second.logs.events("register_replay_short_circuit")).toHaveLength(1)
      expect(rig.cp.calls).toHaveLength(1)
    }))

  it.effect("an expired assertion is refused locally: the server sees nothing, and it is not cached", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const nowSeconds = Math.floor(Date.now() / 1000)
      const rig = yield* rigScoped({ assertion: { nowSeconds: nowSeconds - 600, expiresInSeconds: 60 } })
      const { logs, result } = yield* withRegistrar(rig, Effect.zip(register, register))
      for (const outcome of result) {
        expect(outcome.ok).toBe(false)
        expect(outcome.error).toMatch(/^hydra token exchange: the client assertion expired at .*; not sent/)
      }
      expect(rig.oauth.requests).toHaveLength(0)
      expect(logs.events("token_exchange_attempt")).toHaveLength(0)
      expect(logs.events("token_exchange_failed")).toEqual([
        expect.objectContaining({ kind: "expired_assertion", assertion_consumed: false }),
        expect.objectContaining({ kind: "expired_assertion", assertion_consumed: false })
      ])
      expect(logs.events("register_assertion_unconsumed")).toHaveLength(2)
      expect(logs.events("register_replay_short_circuit")).toHaveLength(0)
    }))

  it.effect("OAuth2 server down: not consumed; once it is up the next RegisterRequired succeeds", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      yield* Effect.promise(() => rig.stopOAuth())
      const { logs, result } = yield* withRegistrar(
        rig,
        Effect.gen(function*() {
          const down = yield* register
          yield* Effect.promise(() => rig.restartOAuth())
          return [down, yield* register] as const
        })
      )
      const [down, up] = result
      expect(down.ok).toBe(false)
      expect(down.error).toMatch(
        /^hydra token exchange: post to https:\/\/127\.0\.0\.1:\d+\/oauth2\/token: .*ECONNREFUSED/
      )
      expect(up).toEqual({ ok: true, error: "" })
      expect(logs.events("token_exchange_failed")).toEqual([
        expect.objectContaining({ kind: "not_reached", assertion_consumed: false })
      ])
      expect(logs.events("register_assertion_unconsumed")).toHaveLength(1)
      expect(tokenRequests(rig)).toHaveLength(1)
      expect(rig.cp.calls).toHaveLength(1)
    }))

  it.effect("Hydra slower than 10 s (TestClock): timeout, not consumed; the next try succeeds", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      rig.oauth.setFault({ kind: "hang" })
      const { logs, result } = yield* withRegistrar(
        rig,
        Effect.gen(function*() {
          const slow = yield* Effect.forkChild(register)
          yield* Effect.promise(() => rig.oauth.waitForRequests(1))
          yield* TestClock.adjust("10 seconds")
          const timedOut = yield* Fiber.join(slow)
          rig.oauth.setFault(undefined)
          return [timedOut, yield* register] as const
        })
      )
      const [timedOut, retried] = result
      expect(timedOut).toEqual({
        ok: false,
        error: `hydra token exchange: post to ${rig.oauth.url}/oauth2/token: no answer within 10s`
      })
      expect(retried).toEqual({ ok: true, error: "" })
      expect(logs.events("token_exchange_failed")).toEqual([
        expect.objectContaining({ kind: "timeout", assertion_consumed: false })
      ])
      expect(logs.events("register_assertion_unconsumed")).toHaveLength(1)
    }))

  describe("Hydra answered badly: consumed, the failure is the answer from then on", () => {
    const cases = [
      {
        name: "400",
        fault: { kind: "status", status: 400, body: "{\"error\":\"invalid_request\"}" },
        error: "hydra token exchange: hydra returned 400: {\"error\":\"invalid_request\"}"
      },
      {
        name: "500",
        fault: { kind: "status", status: 500, body: "upstream\r\n\u0000broke" },
        error: "hydra token exchange: hydra returned 500: upstream broke"
      },
      {
        name: "garbage JSON",
        fault: { kind: "garbage_json" },
        error: /^hydra token exchange: decode response: not JSON \(\d+ bytes\)$/
      },
      {
        name: "empty access_token",
        fault: { kind: "empty_token" },
        error: "hydra token exchange: hydra returned empty access_token"
      },
      {
        name: "token_type mac",
        fault: { kind: "token_type", tokenType: "mac" },
        error: "hydra token exchange: hydra returned unexpected token_type \"mac\" (expected Bearer)"
      }
    ] as const
    for (const c of cases) {
      it.effect(c.name, () =>
        Effect.gen(function*() {
          const rig = yield* rigScoped()
          rig.oauth.setFault(c.fault)
          const { logs, result } = yield* withRegistrar(rig, Effect.zip(register, register))
          const [first, again] = result
          expect(first.ok).toBe(false)
          if (typeof c.error === "string") expect(first.error).toBe(c.error)
          else expect(first.error).toMatch(c.error)
          expect(again).toEqual(first)
          expect(tokenRequests(rig)).toHaveLength(1)
          expect(logs.events("token_exchange_failed")).toEqual([
            expect.objectContaining({ assertion_consumed: true })
          ])
          expect(logs.events("register_replay_short_circuit")).toHaveLength(1)
          expect(logs.events("register_dial")).toHaveLength(0)
          expect(rig.cp.calls).toHaveLength(0)
        }))
    }
  })

  it.effect("token_type \"bearer\" in any case, or empty, is accepted", () =>
    Effect.gen(function*() {
      for (const tokenType of ["bearer", "BEARER", ""]) {
        const rig = yield* rigScoped()
        rig.oauth.setFault({ kind: "token_type", tokenType })
        const { result } = yield* withRegistrar(rig, register)
        expect(result).toEqual({ ok: true, error: "" })
      }
    }))

  it.effect("CP down: the assertion is spent, so the dial failure is cached", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      yield* Effect.promise(() => rig.cp.close())
      const { logs, result } = yield* withRegistrar(rig, Effect.zip(register, register))
      const [first, again] = result
      expect(first.ok).toBe(false)
      expect(first.error).toMatch(/^AgentService\.Register: rpc error: code = Unavailable desc = .*ECONNREFUSED/)
      expect(again).toEqual(first)
      expect(tokenRequests(rig)).toHaveLength(1)
      expect(logs.events("register_rpc_failed")).toEqual([
        expect.objectContaining({ level: "error", code: "UNAVAILABLE", connected: false })
      ])
      expect(logs.events("register_replay_short_circuit")).toHaveLength(1)
    }))

  it.effect("CP answers PermissionDenied", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped({ answer: "permission_denied" })
      const { logs, result } = yield* withRegistrar(rig, Effect.zip(register, register))
      const [first, again] = result
      expect(first).toEqual({
        ok: false,
        error: "AgentService.Register: rpc error: code = PermissionDenied desc = agent is not allowed to register"
      })
      expect(again).toEqual(first)
      expect(rig.cp.calls).toEqual([expect.objectContaining({ tokenValid: true, answered: "permission_denied" })])
      expect(logs.events("register_rpc_failed")).toEqual([
        expect.objectContaining({ level: "error", code: "PERMISSION_DENIED", connected: true })
      ])
    }))

  it.effect("the CP's certificate must carry the clawker-controlplane name", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      const wrongName = yield* Effect.promise(() =>
        mintLeaf(rig.deployment.ca, { cn: "not-the-cp", eku: ["serverAuth"], dns: ["localhost"], ips: ["127.0.0.1"] })
      )
      const impostor = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startAgentService({ deployment: rig.deployment, serverCert: wrongName, verifyToken: async () => true })
        ),
        (cp) => Effect.promise(() => cp.close())
      )
      const { result } = yield* withRegistrar(rig, register, { ...rig.env, CLAWKER_CP_AGENT_ADDR: impostor.address })
      expect(result.ok).toBe(false)
      expect(result.error).toMatch(
        /^AgentService\.Register: rpc error: code = Unavailable desc = .*clawker-controlplane/
      )
      expect(impostor.calls).toHaveLength(0)
    }))

  it.effect("a CP listener that cannot do TLS 1.3 is never talked to", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      let handshakes = 0
      const legacy = yield* Effect.acquireRelease(
        Effect.callback<tls.Server>((resume) => {
          const server = tls.createServer({
            cert: rig.deployment.cpServer.certPem,
            key: rig.deployment.cpServer.keyPem,
            ca: rig.deployment.ca.certPem,
            requestCert: true,
            maxVersion: "TLSv1.2",
            ALPNProtocols: ["h2"]
          })
          server.on("secureConnection", (socket) => {
            handshakes++
            socket.destroy()
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const { port } = legacy.address() as AddressInfo
      const { result } = yield* withRegistrar(rig, register, { ...rig.env, CLAWKER_CP_AGENT_ADDR: `127.0.0.1:${port}` })
      expect(result.ok).toBe(false)
      expect(result.error).toMatch(/^AgentService\.Register: rpc error: code = Unavailable desc = .*protocol version/)
      expect(handshakes).toBe(0)
    }))

  it.effect("two RegisterRequired at once: one exchange, both get its outcome", () =>
    Effect.gen(function*() {
      const rig = yield* rigScoped()
      const { logs, result } = yield* withRegistrar(
        rig,
        Effect.all([register, register, register], { concurrency: "unbounded" })
      )
      expect(result).toEqual([{ ok: true, error: "" }, { ok: true, error: "" }, { ok: true, error: "" }])
      expect(tokenRequests(rig)).toHaveLength(1)
      expect(rig.cp.calls).toHaveLength(1)
      expect(logs.events("register_replay_short_circuit")).toHaveLength(2)
    }))

  describe("missing environment: ok:false naming the variable (the reference's text), nothing sent, retried next time", () => {
    const UNSET_TEXT = {
      CLAWKER_CP_HYDRA_URL: "CLAWKER_CP_HYDRA_URL unset; cannot exchange assertion",
      CLAWKER_CP_AGENT_ADDR: "CLAWKER_CP_AGENT_ADDR unset; cannot dial AgentService"
    }
    for (const variable of ["CLAWKER_CP_HYDRA_URL", "CLAWKER_CP_AGENT_ADDR"] as const) {
      it.effect(variable, () =>
        Effect.gen(function*() {
          const rig = yield* rigScoped()
          const { logs, result } = yield* withRegistrar(rig, Effect.zip(register, register), {
            ...rig.env,
            [variable]: ""
          })
          for (const outcome of result) {
            expect(outcome).toEqual({ ok: false, error: UNSET_TEXT[variable] })
          }
          expect(rig.oauth.requests).toHaveLength(0)
          expect(logs.events("register_env_missing")).toMatchObject([{ level: "error", variable }, { variable }])
          expect(logs.events("register_assertion_unconsumed")).toHaveLength(2)
        }))
    }
    it.effect("both", () =>
      Effect.gen(function*() {
        const rig = yield* rigScoped()
        const { result } = yield* withRegistrar(rig, register, {})
        expect(result.error).toBe(UNSET_TEXT.CLAWKER_CP_HYDRA_URL)
      }))
  })
})
