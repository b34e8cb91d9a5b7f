import { Duration, Effect, Layer, Metric, Schedule } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { Otlp } from "effect/observability"
import * as Log from "../../lib/log.js"
import type { TelemetrySettings } from "../../services/DaemonConfig.js"
import { boundedExportClient } from "./boundedClient.js"
import * as Metrics from "./metrics.js"
import { containerIdOf, parseResourceAttributes } from "./resource.js"

/** The last flush at shutdown takes at most this: it runs after the CMD's stop, inside the container's grace. */
export const FLUSH_BOUND = Duration.seconds(1)
/** How often RSS is sampled into its gauge. */
const RSS_INTERVAL = Duration.seconds(10)

/** Who is exporting, besides what OTEL_RESOURCE_ATTRIBUTES says. */
export interface TelemetryIdentity {
  readonly agent: string
  readonly project: string
  readonly version: string
}

const sampleRss = Effect.suspend(() => Metric.update(Metrics.rss, process.memoryUsage.rss()))

const exporting = (baseUrl: string, settings: TelemetrySettings, identity: TelemetryIdentity) => {
  const containerId = containerIdOf(settings.bootstrapDir)
  const attributes: Record<string, string> = {
    ...parseResourceAttributes(settings.resourceAttributes),
    ...(identity.agent === "" ? {} : { agent: identity.agent }),
    ...(identity.project === "" ? {} : { project: identity.project }),
    ...(containerId === undefined ? {} : { "container.id": containerId })
  }
  const client = Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, boundedExportClient)).pipe(
    Layer.provide(FetchHttpClient.layer)
  )
  const exporter = Otlp.layerProtobuf({
    baseUrl,
    resource: { serviceName: "clawkerd", serviceVersion: identity.version, attributes },
    loggerMergeWithExisting: true,
    maxBatchSize: 512,
    tracerExportInterval: Duration.seconds(1),
    loggerExportInterval: Duration.seconds(1),
    metricsExportInterval: RSS_INTERVAL,
    shutdownTimeout: FLUSH_BOUND
  }).pipe(Layer.provide(client))
  const rssSampler = Layer.effectDiscard(Effect.forkScoped(Effect.repeat(sampleRss, Schedule.spaced(RSS_INTERVAL))))
  const started = Layer.effectDiscard(
    Log.info("otlp_export_started", {
      endpoint: baseUrl,
      ...(containerId === undefined ? {} : { container_id: containerId })
    })
  )
  return Layer.mergeAll(rssSampler, started).pipe(Layer.provideMerge(exporter))
}

/**
 * OTLP/HTTP (protobuf) export of clawkerd's log events, spans and metrics, off unless an endpoint is set.
 * Provide it over the logging layer: its logger joins the JSON one. A malformed endpoint is logged and
 * nothing is exported; export failures are bounded and counted (boundedClient.ts), never the daemon's.
 */
export const OtlpLive = (settings: TelemetrySettings, identity: TelemetryIdentity): Layer.Layer<never> => {
  if (settings.endpoint === undefined) return Layer.empty
  const endpoint = settings.endpoint
  const url = URL.canParse(endpoint) ? new URL(endpoint) : undefined
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return Layer.effectDiscard(
      Log.warn("otlp_endpoint_invalid", { endpoint, expected: "an http or https URL; nothing is exported" })
    )
  }
  return exporting(url.href.replace(/\/+$/, ""), settings, identity)
}
