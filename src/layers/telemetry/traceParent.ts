import type { Metadata } from "@grpc/grpc-js"
import { Option } from "effect"
import type { Tracer } from "effect"
import { Headers, HttpTraceContext } from "effect/http"

/**
 * The W3C trace context the CP may send in the Session's gRPC metadata (`traceparent`, and `tracestate`),
 * as the parent of the Session's span; none, or a malformed one, starts a trace of its own.
 */
export const parentFromMetadata = (metadata: Metadata): Option.Option<Tracer.ExternalSpan> => {
  const [traceparent] = metadata.get("traceparent")
  if (typeof traceparent !== "string") return Option.none()
  const [tracestate] = metadata.get("tracestate")
  return HttpTraceContext.w3c(
    Headers.fromInput(typeof tracestate === "string" ? { traceparent, tracestate } : { traceparent })
  )
}
