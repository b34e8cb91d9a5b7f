import type { Effect, Redacted } from "effect"
import { Context, Data } from "effect"

export type HydraFailure =
  /** CLAWKER_CP_HYDRA_URL is not set. */
  | "not_configured"
  | "expired_assertion"
  | "not_reached"
  | "timeout"
  | "http_status"
  | "bad_json"
  | "empty_token"
  | "bad_token_type"

/** A failed token exchange. `consumed`: the server answered, so the single-use assertion is spent. */
export class HydraError extends Data.TaggedError("HydraError")<{
  readonly kind: HydraFailure
  readonly consumed: boolean
  readonly message: string
  readonly status?: number
}> {}

export interface HydraShape {
  /** client_credentials with the client assertion at `<hydra>/oauth2/token`; the access token, redacted. */
  readonly exchange: (assertion: Redacted.Redacted<string>) => Effect.Effect<Redacted.Redacted<string>, HydraError>
}

export class Hydra extends Context.Service<Hydra, HydraShape>()("clawkerd/Hydra") {}
