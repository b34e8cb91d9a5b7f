import type { OtlpReceiver, ReceivedSpan } from "./otlpReceiver.js"

const SHOWN_ATTRIBUTES = ["command_id", "peer_cn", "stage_index", "exit_code"]

/** The received spans as one indented tree per trace (children under their parent, in start order), then counts. */
export const renderTrace = (received: Pick<OtlpReceiver, "spans" | "logs" | "metrics">): string => {
  const spans = [...received.spans].sort((a, b) => (a.startNanos < b.startNanos ? -1 : 1))
  const ids = new Set(spans.map((s) => s.spanId))
  const childrenOf = (parent: string) => spans.filter((s) => s.parentSpanId === parent)
  const lines: Array<string> = []
  const origin = spans[0]?.startNanos ?? 0n
  const walk = (span: ReceivedSpan, depth: number) => {
    const at = Number(span.startNanos - origin) / 1e6
    const took = Number(span.endNanos - span.startNanos) / 1e6
    const attrs = SHOWN_ATTRIBUTES.filter((k) => span.attributes[k] !== undefined)
      .map((k) => `${k}=${String(span.attributes[k])}`).join(" ")
    lines.push(
      `  ${at.toFixed(1).padStart(8)} ms ${took.toFixed(1).padStart(8)} ms  ${"  ".repeat(depth)}${span.name} ${attrs}`
    )
    for (const child of childrenOf(span.spanId)) walk(child, depth + 1)
  }
  for (const top of spans.filter((s) => !ids.has(s.parentSpanId))) {
    if (top.parentSpanId !== "") lines.push(`  trace ${top.traceId}, parent ${top.parentSpanId} (the CP's)`)
    walk(top, 0)
  }
  const resource = received.spans[0]?.resource ?? {}
  lines.push(`  resource: ${Object.entries(resource).map(([k, v]) => `${k}=${String(v)}`).join(", ")}`)
  lines.push(
    `  ${received.logs.length} log records; metrics: ${[...new Set(received.metrics.map((m) => m.name))].join(", ")}`
  )
  return lines.join("\n")
}
