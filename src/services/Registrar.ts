import type { Effect } from "effect"
import { Context } from "effect"

/** What RegisterDone carries. */
export interface RegisterOutcome {
  readonly ok: boolean
  readonly error: string
}

/** The one-time Register handshake, serialised process-wide; never fails, the outcome says how it went. */
export interface RegistrarShape {
  readonly register: Effect.Effect<RegisterOutcome>
}

export class Registrar extends Context.Service<Registrar, RegistrarShape>()("clawkerd/Registrar") {}
