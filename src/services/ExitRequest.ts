import { Context, Effect, Layer } from "effect"
import * as Log from "../lib/log.js"

/** An exit asked for: the code, and what must run before the daemon's shutdown starts. */
export interface ExitRequested {
  readonly code: number
  /** The asking Session's Stop (session.md §5): its other commands killed, its queue flushed, so the Done reaches CP. */
  readonly settle: Effect.Effect<void>
}

/**
 * A command asked the daemon to exit (exit_on_non_zero, or AgentReady after a failed spawn). The request
 * itself only records it, so the asking command's fiber hands it over at once and forks nothing; the main
 * program races `requested` against the other wake-up events and runs `settle` on its own fiber. The first
 * request wins.
 */
export interface ExitRequestShape {
  readonly request: (code: number, settle: Effect.Effect<void>) => Effect.Effect<void>
  readonly requested: Effect.Effect<ExitRequested>
}

export class ExitRequest extends Context.Service<ExitRequest, ExitRequestShape>()("clawkerd/ExitRequest") {
  /** Nobody to ask (the spec's "no hook wired"): the Session still stops, and the daemon goes on. */
  static readonly disabled: Layer.Layer<ExitRequest> = Layer.succeed(ExitRequest, {
    request: (code, settle) =>
      Effect.andThen(settle, Log.warn("command_exit_on_non_zero_no_seam", { exit_code: code })),
    requested: Effect.never
  })
}
