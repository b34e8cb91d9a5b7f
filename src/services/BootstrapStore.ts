import type { Redacted } from "effect"
import { Context, Data } from "effect"
import type { JWTPayload } from "jose"
import type { X509Certificate } from "node:crypto"

/** The four files the host CLI drops into the container, validated once and held in memory. */
export interface BootstrapMaterial {
  /** The agent leaf (and any chain after it), PEM: server cert of the listener, client cert toward CP. */
  readonly certPem: string
  readonly keyPem: Redacted.Redacted<string>
  /** The CLI CA, PEM: the only trust root for the CP and Hydra. */
  readonly caPem: string
  /** The single-use client assertion, compact JWT. */
  readonly assertion: Redacted.Redacted<string>
  readonly leaf: X509Certificate
  readonly caCerts: ReadonlyArray<X509Certificate>
  /** Claims of the assertion, decoded but not verified (only Hydra can verify them). */
  readonly assertionClaims: JWTPayload
}

export class BootstrapStore extends Context.Service<BootstrapStore, BootstrapMaterial>()("clawkerd/BootstrapStore") {}

/** A bootstrap file is missing, unreadable or invalid; names the file and what was expected. */
export class BootstrapError extends Data.TaggedError("BootstrapError")<{
  readonly file: string
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `bootstrap ${this.file} (${this.path}): ${this.problem}`
  }
}
