import { Deferred, Effect, Layer } from "effect"
import * as Log from "../domain/log.js"
import { SHUTDOWN_SIGNALS } from "../domain/signals.js"
import { listenScoped } from "../platform/signalListener.js"
import { ShutdownSignal } from "../services/ShutdownSignal.js"

/**
 * Listeners on SIGTERM and SIGINT for the life of the layer. They are also what makes PID 1
 * killable at all: the kernel drops a signal sent to a namespace's init that has no handler.
 */
export const ShutdownSignalLive: Layer.Layer<ShutdownSignal> = Layer.effect(
  ShutdownSignal,
  Effect.gen(function*() {
    const first = yield* Deferred.make<NodeJS.Signals>()
    const run = Effect.runForkWith(yield* Effect.context<never>())
    const onSignal = (signal: NodeJS.Signals) =>
      run(
        Effect.flatMap(Deferred.succeed(first, signal), (isFirst) =>
          Log.info("shutdown_signal_received", { signal, first: isFirst }))
      )
    yield* Effect.forEach(SHUTDOWN_SIGNALS, (signal) => listenScoped(signal, onSignal), { discard: true })
    return { received: Deferred.await(first) }
  })
)
