import type { Effect } from "effect"
import { Context, Data } from "effect"
import type { HostPort } from "./DaemonConfig.js"

/** The listener could not start: `bind` is transient (exit 1), `tls_config` a configuration error (exit 2). */
export class ListenerStartError extends Data.TaggedError("ListenerStartError")<{
  readonly kind: "bind" | "tls_config"
  readonly message: string
}> {}

/** Serving died after a successful start. */
export class ListenerFatal extends Data.TaggedError("ListenerFatal")<{ readonly message: string }> {}

/** The CP-only mTLS gRPC listener, alive for its scope; release is a force-close. */
export interface ListenerShape {
  readonly address: HostPort
  /** Fails when serving dies; never succeeds. */
  readonly fatal: Effect.Effect<never, ListenerFatal>
}

export class Listener extends Context.Service<Listener, ListenerShape>()("clawkerd/Listener") {}
