import { Deferred, Effect, Layer } from "effect"
import * as Log from "../../lib/log.js"
import { earlyShutdownSignal } from "../../platform/bootGuard.js"
import { listenScoped } from "../../platform/signalListener.js"
import { SHUTDOWN_SIGNALS } from "../../platform/signals.js"
import { ShutdownSignal } from "../../services/ShutdownSignal.js"

/**
 * Listeners on SIGTERM and SIGINT for the life of the layer. They are also what makes PID 1
 * killable at all: the kernel drops a signal sent to a namespace's init that has no handler. A signal
 * that arrived during boot, before this layer existed, was kept by the boot guard and counts here.
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
    const early = earlyShutdownSignal()
    if (early !== undefined) {
      yield* Deferred.succeed(first, early)
      yield* Log.info("shutdown_signal_received", { signal: early, first: true, during_boot: true })
    }
    return { received: Deferred.await(first) }
  })
)
