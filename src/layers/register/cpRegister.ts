import type { Client, ServiceError } from "@grpc/grpc-js"
import { connectivityState, credentials, Metadata, status } from "@grpc/grpc-js"
import { Data, Duration, Effect, Redacted } from "effect"
import { createSecureContext } from "node:tls"
import { AgentServiceClient } from "../../gen/clawker/agent/v1/agent.js"
import { CONTROL_PLANE_CN } from "../../lib/constants.js"
import { formatHostPort } from "../../lib/hostPort.js"
import type { BootstrapMaterial } from "../../services/BootstrapStore.js"
import type { HostPort } from "../../services/DaemonConfig.js"
import { describeError, excerpt } from "./registerText.js"

const REGISTER_DEADLINE = Duration.seconds(15)

/**
 * The CP side of Register failed, at the reference's steps: its TLS configuration (`tls`), the client for
 * the address (`dial`), or the call itself (`rpc`, also when the CP cannot be reached).
 */
export class CpRegisterError extends Data.TaggedError("CpRegisterError")<{
  readonly stage: "tls" | "dial" | "rpc"
  /** gRPC status code name, e.g. PERMISSION_DENIED. */
  readonly code: string
  readonly detail: string
  /** Whether the channel ever got a working connection (refused, TLS or name failures never do). */
  readonly connected: boolean
}> {}

const setupFailed = (stage: "tls" | "dial") => (e: unknown) =>
  new CpRegisterError({ stage, code: "UNKNOWN", detail: describeError(e), connected: false })

/** mTLS as the agent: the leaf as client cert, the bootstrap CA as the only root, TLS 1.3, the CP's constant name. */
const openClient = (material: BootstrapMaterial, address: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () =>
        createSecureContext({
          ca: material.caPem,
          cert: material.certPem,
          key: Redacted.value(material.keyPem),
          minVersion: "TLSv1.3"
        }),
      catch: setupFailed("tls")
    }).pipe(Effect.flatMap((context) =>
      Effect.try({
        // grpc-js checks the server certificate against the override name, not the address's host.
        // Never through a proxy from the environment (grpc_proxy, https_proxy, http_proxy): the token
        // request goes direct, so a Register dial through a proxy would fail after the assertion is spent.
        try: () =>
          new AgentServiceClient(address, credentials.createFromSecureContext(context), {
            "grpc.ssl_target_name_override": CONTROL_PLANE_CN,
            "grpc.default_authority": CONTROL_PLANE_CN,
            "grpc.enable_http_proxy": 0
          }),
        catch: setupFailed("dial")
      })
    )),
    (client) => Effect.sync(() => client.close())
  )

/**
 * Whether the channel ever got a working connection. A failed call on a channel that never did
 * is a dial failure (refused, TLS, name), whatever status grpc-js puts on it.
 */
const trackConnected = (channel: ReturnType<Client["getChannel"]>): () => boolean => {
  let connected = false
  const watch = () => {
    const state = channel.getConnectivityState(false)
    if (state === connectivityState.READY) connected = true
    else if (state !== connectivityState.SHUTDOWN) channel.watchConnectivityState(state, Infinity, watch)
  }
  watch()
  return () => connected
}

const codeName = (code: number): string => status[code] ?? `CODE_${code}`

/** grpc-js appends an empty "Resolution note:" to connection errors. */
const detailOf = (error: ServiceError): string =>
  excerpt((error.details === "" ? describeError(error) : error.details).replace(/\s*Resolution note:\s*$/, ""))

/**
 * `AgentService.Register{agent_name, project}` with the bearer token, over a channel opened for this
 * call and closed after it. The deadline is enforced twice: by Effect's clock, and as the gRPC
 * deadline (a wall-clock date, so the CP sees it too).
 */
export const registerWithCp = (
  material: BootstrapMaterial,
  addr: HostPort,
  request: { readonly agentName: string; readonly project: string },
  token: Redacted.Redacted<string>
): Effect.Effect<void, CpRegisterError> =>
  Effect.scoped(Effect.gen(function*() {
    const address = formatHostPort(addr)
    const client = yield* openClient(material, address)
    const connected = trackConnected(client.getChannel())
    const metadata = new Metadata()
    metadata.set("authorization", `Bearer ${Redacted.value(token)}`)
    const failed = (error: ServiceError) =>
      new CpRegisterError({ stage: "rpc", code: codeName(error.code), detail: detailOf(error), connected: connected() })
    yield* Effect.callback<void, CpRegisterError>((resume) => {
      const call = client.register(
        request,
        metadata,
        { deadline: Date.now() + Duration.toMillis(REGISTER_DEADLINE) },
        (error) => resume(error === null ? Effect.void : Effect.fail(failed(error)))
      )
      return Effect.sync(() => call.cancel())
    }).pipe(
      Effect.timeoutOrElse({
        duration: REGISTER_DEADLINE,
        orElse: () =>
          Effect.fail(
            new CpRegisterError({
              stage: "rpc",
              code: "DEADLINE_EXCEEDED",
              detail: `no answer from ${address} within ${Duration.format(REGISTER_DEADLINE)}`,
              connected: connected()
            })
          )
      })
    )
  })).pipe(Effect.withSpan("clawkerd.register.rpc", { attributes: { cp_address: formatHostPort(addr) } }))
