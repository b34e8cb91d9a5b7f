import { Clock, Duration, Effect } from "effect"
import { HttpClient, HttpClientError, type HttpClientRequest } from "effect/http"
import * as Log from "../../lib/log.js"

/** One export request may take this long; an endpoint that hangs costs no more. */
export const EXPORT_TIMEOUT = Duration.seconds(5)
/** Export requests in flight at once per signal (traces, logs, metrics); one more is dropped at once, with its batch. */
export const MAX_IN_FLIGHT = 2
/** Failed and dropped exports are logged once, then summed up at most this often. */
const REPORT_INTERVAL_MS = 60_000

/**
 * The OTLP exporters' HTTP client: each request is bounded in time, and the requests in flight are bounded
 * in number, so a slow or dead collector holds at most MAX_IN_FLIGHT batches and never blocks the daemon.
 * Failures (the exporter then drops its buffer for a while) are counted and logged as `otlp_export_failed`.
 */
export const boundedExportClient = (client: HttpClient.HttpClient): HttpClient.HttpClient => {
  const inFlight = new Map<string, number>()
  let failed = 0
  let dropped = 0
  let reportedAt: number | undefined
  const report = (error: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (reportedAt !== undefined && now - reportedAt < REPORT_INTERVAL_MS) return Effect.void
      reportedAt = now
      return Log.warn("otlp_export_failed", { error, failed_total: failed, dropped_total: dropped })
    })
  const failure = (error: string) => Effect.andThen(Effect.sync(() => failed++), report(error))
  const refused = (request: HttpClientRequest.HttpClientRequest, description: string) =>
    new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request, description }) })
  return HttpClient.transform(client, (response, request) =>
    Effect.suspend(() => {
      const signal = request.url
      const busy = inFlight.get(signal) ?? 0
      if (busy >= MAX_IN_FLIGHT) {
        dropped++
        const error = refused(request, `${MAX_IN_FLIGHT} exports in flight: batch dropped`)
        return Effect.andThen(report(error.message), Effect.fail(error))
      }
      inFlight.set(signal, busy + 1)
      return response.pipe(
        Effect.timeoutOrElse({
          duration: EXPORT_TIMEOUT,
          orElse: () => Effect.fail(refused(request, `no answer within ${Duration.format(EXPORT_TIMEOUT)}`))
        }),
        Effect.tap((answer) => answer.status < 300 ? Effect.void : failure(`${request.url} answered ${answer.status}`)),
        Effect.tapError((error) => failure(error.message)),
        Effect.ensuring(Effect.sync(() => inFlight.set(signal, (inFlight.get(signal) ?? 1) - 1)))
      )
    }))
}
