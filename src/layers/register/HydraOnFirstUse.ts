import { Effect, Layer } from "effect"
import { BootstrapStore } from "../../services/BootstrapStore.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { Hydra, HydraError } from "../../services/Hydra.js"
import { describeError } from "./registerText.js"

/**
 * Hydra's client (HydraLive) loaded by the first token exchange, not at boot: only Register needs it,
 * and a daemon that is never asked to Register never evaluates it (bench/boot.ts, bench/memory.ts).
 */
export const HydraOnFirstUse: Layer.Layer<Hydra, never, DaemonConfig | BootstrapStore> = Layer.effect(
  Hydra,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const bootstrap = yield* BootstrapStore
    const hydra = yield* Effect.cached(
      Effect.tryPromise({
        try: () => import("./HydraLive.js"),
        catch: (e) =>
          new HydraError({
            kind: "not_reached",
            consumed: false,
            message: `loading the token client: ${describeError(e)}`
          })
      }).pipe(Effect.map(({ makeHydra }) => makeHydra(bootstrap.caPem, config.hydraUrl)))
    )
    return Hydra.of({ exchange: (assertion) => Effect.flatMap(hydra, (client) => client.exchange(assertion)) })
  })
)
