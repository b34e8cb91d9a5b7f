import { Metric } from "effect"

/*
 * The few numbers operators watch. They are recorded whether or not OTLP is configured (a metric update is
 * a map write); OtlpLive exports them when it is.
 */

export const sessionsOpen = Metric.gauge("clawkerd.sessions.open", { description: "CP Sessions open now" })

/** By `kind` (the Command's payload case) and `outcome` (ok, rejected, failed). */
export const commands = Metric.counter("clawkerd.commands", {
  description: "Commands handled, by kind and outcome",
  incremental: true
})

export const outputBytes = Metric.counter("clawkerd.output.bytes", {
  description: "Bytes of ShellCommand output sent to the CP",
  incremental: true
})

export const orphansReaped = Metric.counter("clawkerd.orphans.reaped", {
  description: "Orphaned processes reaped by PID 1",
  incremental: true
})

export const rss = Metric.gauge("clawkerd.memory.rss", { description: "Resident set size, bytes" })
