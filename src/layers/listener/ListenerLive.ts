import * as grpc from "@grpc/grpc-js"
import { Context, Deferred, Duration, Effect, Exit, FiberSet, Layer, Redacted } from "effect"
import { constants } from "node:crypto"
import type * as net from "node:net"
import * as tls from "node:tls"
import type { Response } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { ClawkerdServiceService } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { errorMessage } from "../../lib/errorText.js"
import { waitAtMost } from "../../lib/fibers.js"
import { formatHostPort } from "../../lib/hostPort.js"
import * as Log from "../../lib/log.js"
import { BootstrapStore } from "../../services/BootstrapStore.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { FrameRoom } from "../../services/FrameRoom.js"
import { Listener, ListenerFatal, ListenerStartError } from "../../services/Listener.js"
import { SessionHandler } from "../../services/SessionHandler.js"
import type { InboundFrame } from "../../wire/commandFrame.js"
import { decodeFrame } from "../../wire/commandFrame.js"
import { encodeResponse } from "../../wire/responseFrame.js"
import type { AdmissionLimits } from "./admission.js"
import { makeAdmission } from "./admission.js"
import { makeAuthorizedConnections } from "./authorized.js"
import { pendingWithinFileLimit } from "./fdBudget.js"
import { frameOutputInPlace } from "./outputInPlace.js"
import { checkVerifiedPeer, isControlPlanePeer, peerInfo, reasonOfHandshakeError } from "./peer.js"
import type { RefusalLogLimits } from "./refusalLog.js"
import { makeRefusalLog } from "./refusalLog.js"
import { acceptedOf, makeRemoteAddresses } from "./remoteAddress.js"
import { transportOf } from "./sessionTransport.js"
import { statusAudit } from "./statusAudit.js"

/** Largest Command accepted; a bigger one fails its Session with RESOURCE_EXHAUSTED (documented in SECURITY.md). */
export const MAX_COMMAND_BYTES = 4 * 1024 * 1024
/** How long the force-close may take before teardown goes on without it. */
const CLOSE_LIMIT = Duration.seconds(5)

/** What unauthenticated peers may cost; every value is documented in SECURITY.md. */
export interface ListenerLimits extends AdmissionLimits, RefusalLogLimits {
  /** A peer that has not finished its handshake by then is dropped. */
  readonly handshakeTimeoutMs: number
  /** File descriptors that handshakes in flight never take (see pendingWithinFileLimit). */
  readonly fdReserve: number
  /** The refusal log's window: one summary line at the end of each that saw a refusal. */
  readonly summaryInterval: Duration.Duration
  /**
   * Verified CP connections held at once; one more closes the oldest (src/layers/listener/authorized.ts).
   * The CP keeps one; the load tests and benchmarks run up to 50 Sessions, each on its own connection.
   */
  readonly maxAuthorized: number
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  handshakeTimeoutMs: 5_000,
  maxPending: 64,
  maxPendingPerSource: 8,
  fdReserve: 64,
  linesPerSource: 20,
  linesPerWindow: 200,
  trackedSources: 1_024,
  summarySources: 10,
  summaryInterval: Duration.minutes(1),
  maxAuthorized: 64
}

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

/** The limits the listener applies; the daemon's are the defaults, tests may provide others. */
export const ListenerLimitsRef = Context.Reference<ListenerLimits>("clawkerd/ListenerLimits", {
  defaultValue: () => DEFAULT_LISTENER_LIMITS
})

/**
 * The CP-only listener: our own tls.Server does the handshake (TLS 1.3, client cert chained to the
 * bootstrap CA, clientAuth EKU, CN pin) and only a verified control plane is handed to grpc-js, so
 * nobody else ever reaches HTTP/2. Connections still in their handshake are bounded (ListenerLimits),
 * and so are the log lines refusals write. Release is a force-close. Replies are framed with the
 * FrameRoom the shell's output is read into, the same one (SessionStack's).
 */
export const ListenerLive: Layer.Layer<
  Listener,
  ListenerStartError,
  DaemonConfig | BootstrapStore | SessionHandler | FrameRoom
> = Layer.effect(
  Listener,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const material = yield* BootstrapStore
    const sessions = yield* SessionHandler
    const room = yield* FrameRoom
    const fatal = yield* Deferred.make<never, ListenerFatal>()
    const run = yield* FiberSet.makeRuntime<never, void, never>()
    const limits = yield* ListenerLimitsRef

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
      session: {
        ...ClawkerdServiceService.session,
        requestDeserialize: decodeFrame,
        responseSerialize: (response: Response) => encodeResponse(room, response)
      }
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
        if (!frameOutputInPlace(call, room)) {
          run(Log.debug("session_output_framed_by_grpc", { remote_address: call.getPeer() }))
        }
        run(
          Effect.flatMap(transportOf(call, room), (session) => sessions.handle(session, peerInfo(cert, call.getPeer())))
        )
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
          handshakeTimeout: limits.handshakeTimeoutMs,
          // No resumption: every connection proves its certificate afresh. With tickets off, TLS 1.3
          // falls back to stateful sessions, and Node keeps none unless asked ('newSession' events).
          secureOptions: constants.SSL_OP_NO_TICKET
        }),
      catch: (e) => new ListenerStartError({ kind: "tls_config", message: `listener TLS material: ${errorMessage(e)}` })
    })
    const addresses = makeRemoteAddresses()
    const refusals = makeRefusalLog(limits)
    const rejected = (socket: tls.TLSSocket | net.Socket, why: string, detail?: string) => {
      const remote = addresses.remoteOf(socket)
      if (!refusals.refused(remote.source, why)) return
      run(Log.warn("listener_peer_rejected", {
        reason: why,
        remote_address: remote.address,
        ...(detail === undefined ? {} : { detail })
      }))
    }
    const summarize = Effect.suspend(() => {
      const summary = refusals.drain()
      return summary === undefined ? Effect.void : Log.warn("listener_refusals_summary", { ...summary })
    })
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(limits.summaryInterval), summarize)))
    // The last window's refusals are reported at shutdown too.
    yield* Effect.addFinalizer(() => summarize)

    const maxPending = yield* Effect.sync(() => pendingWithinFileLimit(limits.maxPending, limits.fdReserve))
    const admission = makeAdmission<net.Socket>({ ...limits, maxPending })
    /** Connections dropped to make room: their handshake error is that drop, already logged as "shed". */
    const shed = new WeakSet<net.Socket>()
    const authorized = makeAuthorizedConnections<tls.TLSSocket>(limits.maxAuthorized)

    server.on("connection", (socket: net.Socket) => {
      addresses.accepted(socket)
      sockets.add(socket)
      socket.on("close", () => {
        sockets.delete(socket)
        admission.settled(socket)
      })
      const victim = admission.admit(socket, addresses.remoteOf(socket).source)
      if (victim === undefined) return
      admission.settled(victim)
      shed.add(victim)
      rejected(victim, "shed")
      victim.destroy()
    })
    server.on("tlsClientError", (error: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      const accepted = acceptedOf(socket)
      admission.settled(accepted)
      if (!shed.has(accepted)) rejected(socket, reasonOfHandshakeError(socket, error), error.code ?? error.message)
      socket.destroy()
    })
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      socket.on("error", () => undefined)
      admission.settled(acceptedOf(socket))
      const refused = checkVerifiedPeer(socket)
      if (refused !== undefined) {
        rejected(socket, refused)
        socket.destroy()
        return
      }
      socket.on("close", () => authorized.closed(socket))
      const oldest = authorized.add(socket)
      if (oldest !== undefined) {
        run(Log.warn("listener_connection_evicted", {
          remote_address: addresses.remoteOf(oldest).address,
          max_authorized: limits.maxAuthorized
        }))
        oldest.destroy()
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
    yield* Log.info("clawkerd_listener_started", {
      addr: formatHostPort(address),
      port: address.port,
      max_pending_handshakes: maxPending
    })

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* Log.info("clawkerd_listener_stopping", { addr: formatHostPort(address) })
        // The connections go first, as the reference's force-close: the CP reads its Session's end as the
        // connection's (UNAVAILABLE). grpc-js's own shutdown first would end a stream with RST_STREAM(NO_ERROR)
        // while a reply is in flight, which clients read as INTERNAL ("Call ended without gRPC status").
        for (const socket of sockets) socket.destroy()
        injector.destroy()
        grpcServer.forceShutdown()
        // Every socket is destroyed, so close should call back at once; bounded all the same, as a
        // teardown that hangs would keep PID 1 (and the container) alive.
        yield* waitAtMost(Effect.callback<void>((resume) => void server.close(() => resume(Effect.void))), CLOSE_LIMIT)
        yield* Log.info("clawkerd_listener_stopped", { addr: formatHostPort(address) })
      })
    )
    return Listener.of({ address, fatal: Deferred.await(fatal) })
  })
)
