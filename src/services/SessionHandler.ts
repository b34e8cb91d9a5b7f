import type { Effect } from "effect"
import { Context, Data } from "effect"
import type { Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import type { InboundFrame } from "../wire/commandFrame.js"

/** The TLS peer of a Session, for the audit log. */
export interface PeerInfo {
  readonly cn: string
  /** Lowercase hex SHA-256 of the peer leaf's DER. */
  readonly thumbprint: string
  readonly remoteAddress: string
}

/** The transport under a Session broke while Commands were being read. */
export class SessionBroken extends Data.TaggedError("SessionBroken")<{ readonly message: string }> {}

/**
 * One Session as its handler sees it, whatever carries it (the listener adapts a grpc-js call): the
 * CP's Commands in, the replies out.
 */
export interface SessionTransport {
  /** Runs `each` on every Command, one after another, until the CP half-closes; fails if the transport breaks. */
  readonly receive: (each: (frame: InboundFrame) => Effect.Effect<void>) => Effect.Effect<void, SessionBroken>
  /**
   * Hands one reply to the transport; `written` runs once it was written, or with the error that stopped
   * it. False: the transport wants nothing more until `drained`.
   */
  readonly write: (response: Response, written: (error?: Error | null) => void) => boolean
  readonly drained: Effect.Effect<void>
  /** Completes once the peer went away mid-Session; never otherwise. */
  readonly cancelled: Effect.Effect<void>
  readonly isCancelled: Effect.Effect<boolean>
  /** The clean end, after the last reply: the stream's OK status. */
  readonly end: Effect.Effect<void>
  /** The W3C trace context the CP sent with the Session (`traceparent`, `tracestate`), if any. */
  readonly traceContext: Readonly<Record<string, string>>
}

/** Serves one Session until it ends; never fails: a broken Session ends only itself. */
export interface SessionHandlerShape {
  readonly handle: (session: SessionTransport, peer: PeerInfo) => Effect.Effect<void>
}

export class SessionHandler extends Context.Service<SessionHandler, SessionHandlerShape>()("clawkerd/SessionHandler") {}
