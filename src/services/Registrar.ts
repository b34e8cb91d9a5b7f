import { Context, Effect, Layer } from "effect"

/** What RegisterDone carries. */
export interface RegisterOutcome {
  readonly ok: boolean
  readonly error: string
}

/** The one-time Register handshake, serialised process-wide; never fails, the outcome says how it went. */
export interface RegistrarShape {
  readonly register: Effect.Effect<RegisterOutcome>
}

export class Registrar extends Context.Service<Registrar, RegistrarShape>()("clawkerd/Registrar") {
  /** No Register coordinator: RegisterRequired is answered RegisterDone{ok: false} naming what is missing. */
  static readonly disabled: Layer.Layer<Registrar> = Layer.succeed(Registrar, {
    register: Effect.succeed({ ok: false, error: "clawkerd has no register coordinator wired" })
  })
}
