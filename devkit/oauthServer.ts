import type { JSONWebKeySet, JWK } from "jose"
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import type { SecureVersion } from "node:tls"
import type { Configuration, KoaContextWithOIDC } from "oidc-provider"
import Provider, { errors } from "oidc-provider"
import { REGISTER_SCOPE } from "../src/lib/constants.js"
import { AGENT_CLIENT_ID } from "./assertion.js"
import type { Issued } from "./pki.js"

/*
 * A real OAuth2 authorization server standing in for the control plane's Ory Hydra: the
 * client_credentials grant with a private_key_jwt client assertion at /oauth2/token, single use
 * of every assertion (jti replay refused), JWT access tokens the CP verifies against the JWKS.
 * Fault switches sit in front of oidc-provider; whatever they answer still counts as an answer.
 */

/** The `aud` of issued access tokens: the control plane's AgentService. */
export const ACCESS_TOKEN_AUDIENCE = "clawker-controlplane"
const RESOURCE_INDICATOR = "urn:clawker:controlplane"
const TOKEN_ROUTE = "/oauth2/token"

export type OAuthFault =
  /** Answer with this status and body after the real server processed the request. */
  | { readonly kind: "status"; readonly status: number; readonly body: string }
  /** 200 with a body that is not JSON (the real answer plus trailing garbage). */
  | { readonly kind: "garbage_json" }
  /** 200 with `access_token: ""`. */
  | { readonly kind: "empty_token" }
  | { readonly kind: "token_type"; readonly tokenType: string }
  /** Never answer (until the fault is cleared or the server closes); the assertion is not processed. */
  | { readonly kind: "hang" }
  /** Hold the request until the fault is cleared, then answer it as usual: a slow server. */
  | { readonly kind: "slow" }

/** One request as the server saw it. */
export interface CapturedRequest {
  readonly method: string
  readonly path: string
  readonly contentType: string | undefined
  /** The parsed form body (empty when the request was never processed). */
  form: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  /** The status sent back; 0 while none was. */
  status: number
  /** Why the server refused, as oidc-provider explains it (e.g. a replayed assertion). */
  errorDetail?: string
}

export interface OAuthServerOptions {
  /** The server's certificate: the CP server cert (server name clawker-controlplane) in a real setup. */
  readonly serverCert: Issued
  /** The public JWK of the key the CLI signs assertions with. */
  readonly clientJwk: JWK
  readonly port?: number
  /** The host in the server's URLs (issuer, token endpoint); it always listens on 127.0.0.1. */
  readonly host?: string
  /** TLS version range; TLS 1.3 only unless a test says otherwise. */
  readonly tls?: { readonly minVersion?: SecureVersion; readonly maxVersion?: SecureVersion }
}

export interface OAuthServer {
  /** https://<host>:<port>: what CLAWKER_CP_HYDRA_URL points at. */
  readonly url: string
  readonly port: number
  readonly issuer: string
  /** The only `aud` the server accepts in a client assertion (Hydra expects the token endpoint URL). */
  readonly tokenEndpoint: string
  /** Public keys of the issued access tokens. */
  readonly jwks: JSONWebKeySet
  /** Every request received, in order. */
  readonly requests: ReadonlyArray<CapturedRequest>
  /** Every access token handed out. */
  readonly issuedTokens: ReadonlyArray<string>
  setFault(fault: OAuthFault | undefined): void
  /** Resolves once at least `count` requests have arrived. */
  waitForRequests(count: number): Promise<void>
  /** A CP-side check: signed by this server, for the CP, carrying the register scope. */
  verifyAccessToken(token: string): Promise<boolean>
  close(): Promise<void>
}

const listen = (server: https.Server, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject)
      resolve((server.address() as AddressInfo).port)
    })
  })

const providerConfiguration = (
  signingKey: JWK,
  clientJwk: JWK,
  tokenEndpoint: string
): Configuration => ({
  jwks: { keys: [signingKey] },
  clients: [{
    client_id: AGENT_CLIENT_ID,
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "private_key_jwt",
    token_endpoint_auth_signing_alg: "ES256",
    // The provider's only key is EC; the client default (RS256) would not resolve.
    id_token_signed_response_alg: "ES256",
    scope: REGISTER_SCOPE,
    jwks: { keys: [clientJwk as never] }
  }],
  routes: { token: TOKEN_ROUTE },
  scopes: [REGISTER_SCOPE],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // A default resource makes client_credentials tokens JWTs for the CP without a `resource` parameter.
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE_INDICATOR,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== RESOURCE_INDICATOR) throw new errors.InvalidTarget()
        return {
          scope: REGISTER_SCOPE,
          audience: ACCESS_TOKEN_AUDIENCE,
          accessTokenFormat: "jwt",
          accessTokenTTL: 300,
          jwt: { sign: { alg: "ES256" } }
        }
      }
    }
  },
  // oidc-provider also accepts the issuer as `aud`; Hydra wants exactly the token endpoint URL.
  assertJwtClientAuthClaimsAndHeader: (_ctx, claims) => {
    if (claims.aud !== tokenEndpoint) {
      throw new errors.InvalidClientAuth(`audience (aud) must be ${tokenEndpoint}`)
    }
  },
  cookies: { keys: ["clawker-devkit-cookie-key"] },
  ttl: { ClientCredentials: 300 }
})

export const startOAuthServer = async (options: OAuthServerOptions): Promise<OAuthServer> => {
  const requests: Array<CapturedRequest> = []
  const issuedTokens: Array<string> = []
  const waiters = new Set<() => void>()
  let fault: OAuthFault | undefined
  let hanging: Array<() => void> = []
  const releaseHanging = () => {
    const release = hanging
    hanging = []
    for (const resume of release) resume()
  }

  // The request handler is attached once the provider exists: the issuer needs the bound port.
  const server = https.createServer({
    cert: options.serverCert.certPem,
    key: options.serverCert.keyPem,
    minVersion: options.tls?.minVersion ?? "TLSv1.3",
    ...(options.tls?.maxVersion === undefined ? {} : { maxVersion: options.tls.maxVersion })
  })
  const port = await listen(server, options.port ?? 0)
  const issuer = `https://${options.host ?? "127.0.0.1"}:${port}`
  const tokenEndpoint = `${issuer}${TOKEN_ROUTE}`

  const { privateKey } = await generateKeyPair("ES256", { extractable: true })
  const signingKey: JWK = { ...(await exportJWK(privateKey)), alg: "ES256", use: "sig", kid: "devkit-hydra" }
  const { d: _private, ...publicKey } = signingKey
  const jwks: JSONWebKeySet = { keys: [publicKey] }

  const provider = new Provider(issuer, providerConfiguration(signingKey, options.clientJwk, tokenEndpoint))
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    const entry: CapturedRequest = {
      method: ctx.method,
      path: ctx.path,
      contentType: ctx.get("content-type") || undefined,
      form: {},
      status: 0
    }
    requests.push(entry)
    ctx.state.captured = entry
    for (const wake of [...waiters]) wake()
    const current = fault
    if (current?.kind === "hang" || current?.kind === "slow") {
      await new Promise<void>((resume) => {
        hanging.push(resume)
        ctx.res.once("close", resume)
      })
    }
    if (current?.kind === "hang") {
      ctx.status = 503
      entry.status = ctx.status
      return
    }
    await next()
    // ctx.oidc only exists on the provider's own routes.
    entry.form = { ...(ctx as Partial<KoaContextWithOIDC>).oidc?.body } as CapturedRequest["form"]
    const body = ctx.body as { access_token?: unknown } | undefined
    if (ctx.status === 200 && typeof body?.access_token === "string") issuedTokens.push(body.access_token)
    if (current !== undefined && current.kind !== "slow") applyFault(ctx, current)
    entry.status = ctx.status
  })
  provider.on("grant.error", (ctx: KoaContextWithOIDC, error: errors.OIDCProviderError) => {
    const entry = ctx.state.captured as CapturedRequest | undefined
    if (entry !== undefined) entry.errorDetail = error.error_detail ?? error.message
  })
  server.on("request", provider.callback())

  const verify = createLocalJWKSet(jwks)
  return {
    url: issuer,
    port,
    issuer,
    tokenEndpoint,
    jwks,
    requests,
    issuedTokens,
    setFault: (next) => {
      fault = next
      if (next?.kind !== "hang" && next?.kind !== "slow") releaseHanging()
    },
    waitForRequests: (count) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (requests.length < count) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      }),
    verifyAccessToken: async (token) => {
      try {
        const { payload } = await jwtVerify(token, verify, {
          issuer,
          audience: ACCESS_TOKEN_AUDIENCE,
          typ: "at+jwt",
          algorithms: ["ES256"]
        })
        return payload.client_id === AGENT_CLIENT_ID &&
          typeof payload.scope === "string" && payload.scope.split(" ").includes(REGISTER_SCOPE)
      } catch {
        return false
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        releaseHanging()
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

const applyFault = (ctx: KoaContextWithOIDC, fault: Exclude<OAuthFault, { kind: "hang" | "slow" }>) => {
  const body = ctx.body as Record<string, unknown> | undefined
  switch (fault.kind) {
    case "status":
      ctx.status = fault.status
      ctx.type = "application/json"
      ctx.body = fault.body
      return
    case "garbage_json":
      // The real answer with trailing garbage: a token is in there, and the whole is not JSON.
      ctx.status = 200
      ctx.type = "application/json"
      ctx.body = `${JSON.stringify(body ?? {})} <<garbage`
      return
    case "empty_token":
      ctx.body = { ...body, access_token: "" }
      return
    case "token_type":
      ctx.body = { ...body, token_type: fault.tokenType }
      return
  }
}
