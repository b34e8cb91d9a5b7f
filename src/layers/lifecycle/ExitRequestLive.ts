import { Deferred, Effect, Layer } from "effect"
import type { ExitRequested } from "../../services/ExitRequest.js"
import { ExitRequest } from "../../services/ExitRequest.js"

/** The first request wins; later ones are ignored (the daemon is already on its way out). */
export const ExitRequestLive: Layer.Layer<ExitRequest> = Layer.effect(
  ExitRequest,
  Effect.map(Deferred.make<ExitRequested>(), (deferred) =>
    ExitRequest.of({
      request: (code, settle) => Deferred.succeed(deferred, { code, settle }).pipe(Effect.asVoid),
      requested: Deferred.await(deferred)
    }))
)
