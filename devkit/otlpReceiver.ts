import * as http from "node:http"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"

/*
 * An OTLP/HTTP collector for the tests and the demo: it decodes what clawkerd exports with the official
 * OTLP protobuf definitions (the generated code @opentelemetry/otlp-transformer ships) and keeps it.
 * `behaviour` stands in for a collector that is down (answers 503) or hangs (never answers).
 */

type Decoder = { decode(bytes: Uint8Array): unknown; toObject(message: unknown, options: object): unknown }
interface OtlpRoot {
  readonly opentelemetry: {
    readonly proto: {
      readonly collector: {
        readonly trace: { readonly v1: { readonly ExportTraceServiceRequest: Decoder } }
        readonly logs: { readonly v1: { readonly ExportLogsServiceRequest: Decoder } }
        readonly metrics: { readonly v1: { readonly ExportMetricsServiceRequest: Decoder } }
      }
    }
  }
}
const root = createRequire(import.meta.url)("@opentelemetry/otlp-transformer/build/src/generated/root.js") as OtlpRoot
const collector = root.opentelemetry.proto.collector

type AnyValue = { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean }
type KeyValue = { key: string; value?: AnyValue }
type Attributes = Record<string, string | number | boolean>

const attributesOf = (list: ReadonlyArray<KeyValue> | undefined): Attributes =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [
    key,
    value?.stringValue ?? (value?.intValue !== undefined ? Number(value.intValue) : undefined) ??
      value?.doubleValue ?? value?.boolValue ?? ""
  ]))

const hex = (base64: string | undefined) => Buffer.from(base64 ?? "", "base64").toString("hex")

export interface ReceivedSpan {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly attributes: Attributes
  readonly resource: Attributes
  readonly startNanos: bigint
  readonly endNanos: bigint
}
export interface ReceivedLog {
  readonly body: string
  readonly severity: string
  readonly attributes: Attributes
  readonly resource: Attributes
  readonly traceId: string
}
export interface ReceivedMetric {
  readonly name: string
  readonly resource: Attributes
  /** Each data point's attributes and value. */
  readonly points: ReadonlyArray<{ readonly attributes: Attributes; readonly value: number }>
}

const TO_OBJECT = { longs: String, bytes: String, defaults: false }

/** What protobufjs's toObject gives for the three requests, as far as the tests read them. */
interface Resource {
  readonly resource?: { readonly attributes?: Array<KeyValue> }
}
interface TraceRequest {
  readonly resourceSpans?: Array<Resource & { readonly scopeSpans?: Array<{ readonly spans?: Array<WireSpan> }> }>
}
interface WireSpan {
  readonly name: string
  readonly traceId?: string
  readonly spanId?: string
  readonly parentSpanId?: string
  readonly attributes?: Array<KeyValue>
  readonly startTimeUnixNano?: string
  readonly endTimeUnixNano?: string
}
interface LogsRequest {
  readonly resourceLogs?: Array<Resource & { readonly scopeLogs?: Array<{ readonly logRecords?: Array<WireLog> }> }>
}
interface WireLog {
  readonly body?: AnyValue
  readonly severityText?: string
  readonly attributes?: Array<KeyValue>
  readonly traceId?: string
}
interface MetricsRequest {
  readonly resourceMetrics?: Array<
    Resource & { readonly scopeMetrics?: Array<{ readonly metrics?: Array<WireMetric> }> }
  >
}
interface WirePoint {
  readonly attributes?: Array<KeyValue>
  readonly asInt?: string
  readonly asDouble?: number
}
interface WireMetric {
  readonly name: string
  readonly sum?: { readonly dataPoints?: Array<WirePoint> }
  readonly gauge?: { readonly dataPoints?: Array<WirePoint> }
}

export type ReceiverBehaviour = "collect" | "down" | "hang"

export const startOtlpReceiver = async (behaviour: ReceiverBehaviour = "collect") => {
  const spans: Array<ReceivedSpan> = []
  const logs: Array<ReceivedLog> = []
  const metrics: Array<ReceivedMetric> = []
  let requests = 0

  const decode = (decoder: Decoder, body: Buffer) => decoder.toObject(decoder.decode(body), TO_OBJECT)
  const collect = (url: string, body: Buffer) => {
    if (url === "/v1/traces") {
      const request = decode(collector.trace.v1.ExportTraceServiceRequest, body) as TraceRequest
      for (const rs of request.resourceSpans ?? []) {
        const resource = attributesOf(rs.resource?.attributes)
        for (const s of (rs.scopeSpans ?? []).flatMap((scope) => scope.spans ?? [])) {
          spans.push({
            name: s.name,
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parentSpanId: hex(s.parentSpanId),
            attributes: attributesOf(s.attributes),
            resource,
            startNanos: BigInt(s.startTimeUnixNano ?? "0"),
            endNanos: BigInt(s.endTimeUnixNano ?? "0")
          })
        }
      }
    } else if (url === "/v1/logs") {
      const request = decode(collector.logs.v1.ExportLogsServiceRequest, body) as LogsRequest
      for (const rl of request.resourceLogs ?? []) {
        const resource = attributesOf(rl.resource?.attributes)
        for (const r of (rl.scopeLogs ?? []).flatMap((scope) => scope.logRecords ?? [])) {
          logs.push({
            body: r.body?.stringValue ?? "",
            severity: r.severityText ?? "",
            attributes: attributesOf(r.attributes),
            resource,
            traceId: hex(r.traceId)
          })
        }
      }
    } else if (url === "/v1/metrics") {
      const request = decode(collector.metrics.v1.ExportMetricsServiceRequest, body) as MetricsRequest
      for (const rm of request.resourceMetrics ?? []) {
        const resource = attributesOf(rm.resource?.attributes)
        for (const m of (rm.scopeMetrics ?? []).flatMap((scope) => scope.metrics ?? [])) {
          const points = (m.sum ?? m.gauge)?.dataPoints ?? []
          metrics.push({
            name: m.name,
            resource,
            points: points.map((p) => ({
              attributes: attributesOf(p.attributes),
              value: p.asInt !== undefined ? Number(p.asInt) : p.asDouble ?? 0
            }))
          })
        }
      }
    }
  }

  const server = http.createServer((req, res) => {
    requests++
    if (behaviour === "hang") return
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      if (behaviour === "down") {
        res.writeHead(503).end()
        return
      }
      collect(req.url ?? "", Buffer.concat(chunks))
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    logs,
    metrics,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

export type OtlpReceiver = Awaited<ReturnType<typeof startOtlpReceiver>>
