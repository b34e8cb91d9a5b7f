import { Option } from "effect"
import type { Tracer } from "effect"
import { Headers, HttpTraceContext } from "effect/http"

/**
 * The W3C trace context the CP may send with the Session (`traceparent`, and `tracestate`), as the parent
 * of the Session's span; none, or a malformed one, starts a trace of its own.
 */
export const parentFromTraceContext = (
  traceContext: Readonly<Record<string, string>>
): Option.Option<Tracer.ExternalSpan> =>
  traceContext.traceparent === undefined ? Option.none() : HttpTraceContext.w3c(Headers.fromInput(traceContext))
