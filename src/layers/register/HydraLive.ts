import { Clock, Duration, Effect, Layer, Option, Redacted, Ref, Schema } from "effect"
import { decodeJwt } from "jose"
import type * as Undici from "undici"
import { CLIENT_ASSERTION_TYPE, CONTROL_PLANE_CN, REGISTER_SCOPE } from "../../lib/constants.js"
import * as Log from "../../lib/log.js"
import { BootstrapStore } from "../../services/BootstrapStore.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import type { HydraShape } from "../../services/Hydra.js"
import { Hydra, HydraError } from "../../services/Hydra.js"
import { describeError, excerpt } from "./registerText.js"

const EXCHANGE_TIMEOUT = Duration.seconds(10)
/** A token response is a few hundred bytes; anything past this is not one. */
const BODY_LIMIT = 64 * 1024

/** `<base without trailing />/oauth2/token`, exactly the spec's construction. */
export const tokenEndpointOf = (base: URL): URL => new URL(`${base.href.replace(/\/+$/, "")}/oauth2/token`)

/** The endpoint without any userinfo or query, fit for a log line. */
const loggable = (url: URL): string => `${url.origin}${url.pathname}`

const failure = (kind: HydraError["kind"], consumed: boolean, message: string, status?: number) =>
  new HydraError({ kind, consumed, message, ...(status === undefined ? {} : { status }) })

/**
 * undici is loaded by the first exchange, not at boot: only Register needs it, and loading it with
 * the daemon cost every start about 100 ms (bench/boot.ts). Node caches the module after that.
 */
const loadUndici: Effect.Effect<typeof Undici, HydraError> = Effect.tryPromise({
  try: () => import("undici"),
  catch: (e) => failure("not_reached", false, `loading the HTTP client: ${describeError(e)}`)
})

/**
 * TLS 1.3, the bootstrap CA as the only trust root, and the CP's constant name for both SNI and the
 * certificate check whatever host the URL names (undici would otherwise take the URL's host). A
 * plain Agent of its own: it dials Hydra directly, whatever *_proxy variables say.
 */
const dispatcherFor = (http: typeof Undici, caPem: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const connector = http.buildConnector({ ca: caPem, minVersion: "TLSv1.3", rejectUnauthorized: true })
      return new http.Agent({
        connect: (options, callback) => connector({ ...options, servername: CONTROL_PLANE_CN }, callback)
      })
    }),
    (agent) => Effect.promise(() => agent.destroy().catch(() => undefined))
  )

/** Reads at most BODY_LIMIT bytes; a longer body is cut there (the socket is closed with the dispatcher). */
const readBody = (body: Undici.Dispatcher.ResponseData["body"]) =>
  Effect.tryPromise(async () => {
    const chunks: Array<Buffer> = []
    let size = 0
    for await (const chunk of body) {
      const buffer = Buffer.from(chunk as Uint8Array)
      chunks.push(buffer)
      size += buffer.length
      if (size >= BODY_LIMIT) break
    }
    return Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString("utf8")
  })

interface TokenResponse {
  readonly token: Redacted.Redacted<string>
  readonly expiresIn: number | undefined
}

const decodeJson = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Unknown))

/** RFC 6749 §5.1's members clawkerd reads; any other member of the body is Hydra's business. */
const decodeTokenBody = Schema.decodeUnknownOption(Schema.Struct({
  access_token: Schema.optionalKey(Schema.Unknown),
  token_type: Schema.optionalKey(Schema.Unknown),
  expires_in: Schema.optionalKey(Schema.Unknown)
}))
const decodeAccessToken = Schema.decodeUnknownOption(Schema.NonEmptyString)
const decodeExpiresIn = Schema.decodeUnknownOption(Schema.Finite)

/**
 * Checks a 200 answer. Nothing of a 200 body ever goes into a message: it may hold a token.
 */
const parseTokenResponse = (text: string): TokenResponse | HydraError => {
  const json = decodeJson(text)
  if (Option.isNone(json)) {
    return failure("bad_json", true, `decode response: not JSON (${text.length} bytes)`, 200)
  }
  const body = Array.isArray(json.value) ? Option.none() : decodeTokenBody(json.value)
  if (Option.isNone(body)) return failure("bad_json", true, "decode response: not a JSON object", 200)
  const token = decodeAccessToken(body.value.access_token)
  if (Option.isNone(token)) return failure("empty_token", true, "hydra returned empty access_token", 200)
  const tokenType = body.value.token_type
  if (tokenType !== undefined && tokenType !== "" && String(tokenType).toLowerCase() !== "bearer") {
    return failure(
      "bad_token_type",
      true,
      `hydra returned unexpected token_type "${excerpt(String(tokenType), 32)}" (expected Bearer)`,
      200
    )
  }
  return { token: Redacted.make(token.value), expiresIn: Option.getOrUndefined(decodeExpiresIn(body.value.expires_in)) }
}

/** `exp` of the assertion in seconds, when it has a numeric one; Hydra judges everything else. */
const expiryOf = (assertion: Redacted.Redacted<string>): number | undefined => {
  try {
    const { exp } = decodeJwt(Redacted.value(assertion))
    return typeof exp === "number" ? exp : undefined
  } catch {
    return undefined
  }
}

const checkNotExpired = (assertion: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const exp = expiryOf(assertion)
    const now = yield* Clock.currentTimeMillis
    if (exp !== undefined && exp * 1000 <= now) {
      return yield* failure(
        "expired_assertion",
        false,
        `the client assertion expired at ${new Date(exp * 1000).toISOString()}; not sent (a fresh one is needed)`
      )
    }
  })

export const makeHydra = (caPem: string, hydraUrl: Option.Option<URL>): HydraShape => {
  const exchangeAt = (endpoint: URL, assertion: Redacted.Redacted<string>) =>
    Effect.gen(function*() {
      yield* checkNotExpired(assertion)
      yield* Log.info("token_exchange_attempt", { url: loggable(endpoint) })
      const answered = yield* Ref.make(false)
      const send = Effect.scoped(Effect.gen(function*() {
        const http = yield* loadUndici
        const dispatcher = yield* dispatcherFor(http, caPem)
        const form = new URLSearchParams({
          grant_type: "client_credentials",
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: Redacted.value(assertion),
          scope: REGISTER_SCOPE
        })
        const response = yield* Effect.tryPromise({
          try: (signal) =>
            http.request(endpoint, {
              method: "POST",
              headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
              body: form.toString(),
              dispatcher,
              signal
            }),
          catch: (e) => failure("not_reached", false, `post to ${loggable(endpoint)}: ${describeError(e)}`)
        })
        yield* Ref.set(answered, true)
        const status = response.statusCode
        const text = yield* readBody(response.body).pipe(
          Effect.mapError((e) =>
            failure(
              status === 200 ? "bad_json" : "http_status",
              true,
              `read response: ${describeError(e.cause)}`,
              status
            )
          )
        )
        if (status !== 200) {
          return yield* failure("http_status", true, `hydra returned ${status}: ${excerpt(text)}`, status)
        }
        const parsed = parseTokenResponse(text)
        return parsed instanceof HydraError ? yield* parsed : parsed
      }))
      const result = yield* send.pipe(
        Effect.timeout(EXCHANGE_TIMEOUT),
        Effect.catchTag("TimeoutError", () =>
          Effect.flatMap(Ref.get(answered), (consumed) =>
            failure(
              "timeout",
              consumed,
              consumed
                ? `read response: no complete answer within ${Duration.format(EXCHANGE_TIMEOUT)}`
                : `post to ${loggable(endpoint)}: no answer within ${Duration.format(EXCHANGE_TIMEOUT)}`
            )))
      )
      yield* Log.info("token_acquired", result.expiresIn === undefined ? {} : { expires_in: result.expiresIn })
      return result.token
    })

  return {
    exchange: (assertion) =>
      Option.match(hydraUrl, {
        onNone: () => failure("not_configured", false, "CLAWKER_CP_HYDRA_URL unset; cannot exchange assertion"),
        onSome: (base) => exchangeAt(tokenEndpointOf(base), assertion)
      }).pipe(
        Effect.tapError((e) =>
          Log.error("token_exchange_failed", {
            error: e.message,
            kind: e.kind,
            assertion_consumed: e.consumed,
            ...(e.status === undefined ? {} : { status: e.status })
          })
        ),
        Effect.withSpan("clawkerd.hydra.token_exchange")
      )
  }
}

/** Hydra from the daemon's config (the URL) and bootstrap material (the CA). */
export const HydraLive: Layer.Layer<Hydra, never, DaemonConfig | BootstrapStore> = Layer.effect(
  Hydra,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const bootstrap = yield* BootstrapStore
    return makeHydra(bootstrap.caPem, config.hydraUrl)
  })
)
