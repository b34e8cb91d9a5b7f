import { Effect, Layer } from "effect"
import { errorDetail } from "../../lib/errorText.js"
import * as Log from "../../lib/log.js"

/**
 * For the life of the layer, a stray promise rejection or exception is logged as an event
 * (`unhandled_rejection`, `uncaught_exception`) instead of killing PID 1; the daemon goes on.
 * bin.ts keeps a stderr-only fallback for the moments before and after.
 */
export const StrayErrorsLive: Layer.Layer<never> = Layer.effectDiscard(
  Effect.gen(function*() {
    const run = Effect.runForkWith(yield* Effect.context<never>())
    const report = (event: string) => (reason: unknown) => run(Log.error(event, { error: errorDetail(reason) }))
    const onRejection = report("unhandled_rejection")
    const onException = report("uncaught_exception")
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        process.on("unhandledRejection", onRejection)
        process.on("uncaughtException", onException)
      }),
      () =>
        Effect.sync(() => {
          process.off("unhandledRejection", onRejection)
          process.off("uncaughtException", onException)
        })
    )
  })
)
