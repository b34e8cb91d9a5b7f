import { Context, Effect, Layer } from "effect"
import * as Log from "../lib/log.js"

/**
 * A command asked the daemon to exit (exit_on_non_zero). The first request wins; the main program
 * races `requested` against the other wake-up events.
 */
export interface ExitRequestShape {
  readonly request: (code: number) => Effect.Effect<void>
  readonly requested: Effect.Effect<number>
}

export class ExitRequest extends Context.Service<ExitRequest, ExitRequestShape>()("clawkerd/ExitRequest") {
  /** Nobody to ask: a request is logged, and the daemon goes on. */
  static readonly disabled: Layer.Layer<ExitRequest> = Layer.succeed(ExitRequest, {
    request: (code) => Log.warn("exit_request_unwired", { exit_code: code }),
    requested: Effect.never
  })
}
