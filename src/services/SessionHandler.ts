import type { ServerDuplexStream } from "@grpc/grpc-js"
import type { Effect } from "effect"
import { Context } from "effect"
import type { Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import type { InboundFrame } from "../wire/commandFrame.js"

/** The TLS peer of a Session, for the audit log. */
export interface PeerInfo {
  readonly cn: string
  /** Lowercase hex SHA-256 of the peer leaf's DER. */
  readonly thumbprint: string
  readonly remoteAddress: string
}

/** Serves one Session stream until it ends; never fails: a broken Session ends only itself. */
export interface SessionHandlerShape {
  readonly handle: (call: ServerDuplexStream<InboundFrame, Response>, peer: PeerInfo) => Effect.Effect<void>
}

export class SessionHandler extends Context.Service<SessionHandler, SessionHandlerShape>()("clawkerd/SessionHandler") {}
