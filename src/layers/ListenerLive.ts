import * as grpc from "@grpc/grpc-js"
import { Deferred, Duration, Effect, Exit, FiberSet, Layer, Redacted } from "effect"
import type * as net from "node:net"
import * as tls from "node:tls"
import type { InboundFrame } from "../domain/commandFrame.js"
import { decodeFrame } from "../domain/commandFrame.js"
import { waitAtMost } from "../domain/fibers.js"
import { formatHostPort } from "../domain/hostPort.js"
import * as Log from "../domain/log.js"
import { encodeResponse } from "../domain/responseFrame.js"
import type { Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { ClawkerdServiceService } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { BootstrapStore } from "../services/BootstrapStore.js"
import { DaemonConfig } from "../services/DaemonConfig.js"
import { Listener, ListenerFatal, ListenerStartError } from "../services/Listener.js"
import { SessionHandler } from "../services/SessionHandler.js"
import { checkVerifiedPeer, isControlPlanePeer, peerInfo, reasonOfHandshakeError } from "./listener/peer.js"
import { makeRemoteAddresses } from "./listener/remoteAddress.js"
import { statusAudit } from "./listener/statusAudit.js"

/** Largest Command accepted; a bigger one fails its Session with RESOURCE_EXHAUSTED (documented in SECURITY.md). */
export const MAX_COMMAND_BYTES = 4 * 1024 * 1024
/** How long the force-close may take before teardown goes on without it. */
const CLOSE_LIMIT = Duration.seconds(5)
/** A peer that has not finished its handshake by then is dropped. */
const HANDSHAKE_TIMEOUT_MS = 10_000

/**
 * The spec's keepalive: ping an idle client every 30 s, 10 s to answer. grpc-js's server pings
 * with or without calls; it has no option to enforce a minimum client ping interval (the spec's
 * 10 s), so client pings are answered, not policed: the only client is the authenticated CP.
 */
const GRPC_OPTIONS: grpc.ServerOptions = {
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.max_receive_message_length": MAX_COMMAND_BYTES
}

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * The CP-only listener: our own tls.Server does the handshake (TLS 1.3, client cert chained to the
 * bootstrap CA, clientAuth EKU, CN pin) and only a verified control plane is handed to grpc-js, so
 * nobody else ever reaches HTTP/2. Release is a force-close.
 */
export const ListenerLive: Layer.Layer<
  Listener,
  ListenerStartError,
  DaemonConfig | BootstrapStore | SessionHandler
> = Layer.effect(
  Listener,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const material = yield* BootstrapStore
    const sessions = yield* SessionHandler
    const fatal = yield* Deferred.make<never, ListenerFatal>()
    const run = yield* FiberSet.makeRuntime<never, void, never>()

    const grpcServer = new grpc.Server({
      ...GRPC_OPTIONS,
      interceptors: [
        statusAudit((failed) =>
          run(Log.warn("session_rpc_failed", {
            code: failed.code,
            details: failed.details,
            remote_address: failed.remoteAddress
          }))
        )
      ]
    })
    const service = {
      session: { ...ClawkerdServiceService.session, requestDeserialize: decodeFrame, responseSerialize: encodeResponse }
    }
    grpcServer.addService(service, {
      session: (call: grpc.ServerDuplexStream<InboundFrame, Response>) => {
        // Defence in depth: the handshake already pinned the peer; check again per call.
        const cert = call.getAuthContext().sslPeerCertificate
        if (!isControlPlanePeer(cert)) {
          run(Log.error("session_peer_unauthorized", { remote_address: call.getPeer() }))
          call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: "peer not authorized" })
          return
        }
        run(sessions.handle(call, peerInfo(cert, call.getPeer())))
      }
    })
    const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure())

    const sockets = new Set<net.Socket>()
    const server = yield* Effect.try({
      try: () =>
        tls.createServer({
          key: Redacted.value(material.keyPem),
          cert: material.certPem,
          ca: material.caPem,
          requestCert: true,
          // Verification still runs (socket.authorized); we refuse unverified peers ourselves in
          // secureConnection, before any byte reaches HTTP/2, so every refusal is logged with its reason
          // and address (Node's own refusal destroys the socket first and loses both).
          rejectUnauthorized: false,
          minVersion: "TLSv1.3",
          ALPNProtocols: ["h2"],
          handshakeTimeout: HANDSHAKE_TIMEOUT_MS
        }),
      catch: (e) => new ListenerStartError({ kind: "tls_config", message: `listener TLS material: ${reason(e)}` })
    })
    const addresses = makeRemoteAddresses()
    const rejected = (socket: tls.TLSSocket | net.Socket, why: string, detail?: string) =>
      run(Log.warn("listener_peer_rejected", {
        reason: why,
        remote_address: addresses.of(socket),
        ...(detail === undefined ? {} : { detail })
      }))

    server.on("connection", (socket: net.Socket) => {
      addresses.accepted(socket)
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    server.on("tlsClientError", (error: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      rejected(socket, reasonOfHandshakeError(socket, error), error.code ?? error.message)
      socket.destroy()
    })
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      socket.on("error", () => undefined)
      const refused = checkVerifiedPeer(socket)
      if (refused !== undefined) {
        rejected(socket, refused)
        socket.destroy()
        return
      }
      injector.injectConnection(socket)
    })

    yield* Effect.callback<void, ListenerStartError>((resume) => {
      const onError = (e: Error) =>
        resume(
          Effect.fail(
            new ListenerStartError({ kind: "bind", message: `listen ${formatHostPort(config.listen)}: ${e.message}` })
          )
        )
      server.once("error", onError)
      server.listen(config.listen.port, config.listen.host, () => {
        server.off("error", onError)
        resume(Effect.void)
      })
    })
    const bound = server.address() as net.AddressInfo
    const address = { host: bound.address, port: bound.port }
    server.on("error", (e) => {
      run(Log.error("clawkerd_listener_serve_failed", { error: e.message }))
      Deferred.doneUnsafe(fatal, Exit.fail(new ListenerFatal({ message: e.message })))
    })
    yield* Log.info("clawkerd_listener_started", { addr: formatHostPort(address), port: address.port })

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Log.info("clawkerd_listener_stopping", { addr: formatHostPort(address) })
        injector.destroy()
        grpcServer.forceShutdown()
        for (const socket of sockets) socket.destroy()
        // Every socket is destroyed, so close should call back at once; bounded all the same, as a
        // teardown that hangs would keep PID 1 (and the container) alive.
        yield* waitAtMost(Effect.callback<void>((resume) => void server.close(() => resume(Effect.void))), CLOSE_LIMIT)
        yield* Log.info("clawkerd_listener_stopped", { addr: formatHostPort(address) })
      })
    )
    return Listener.of({ address, fatal: Deferred.await(fatal) })
  })
)
