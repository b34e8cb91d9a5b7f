import { Deferred, Effect, Layer } from "effect"
import { ExitRequest } from "../../services/ExitRequest.js"

/** The first request wins; later ones are ignored (the daemon is already on its way out). */
export const ExitRequestLive: Layer.Layer<ExitRequest> = Layer.effect(
  ExitRequest,
  Effect.map(Deferred.make<number>(), (deferred) =>
    ExitRequest.of({
      request: (code) => Deferred.succeed(deferred, code).pipe(Effect.asVoid),
      requested: Deferred.await(deferred)
    }))
)
