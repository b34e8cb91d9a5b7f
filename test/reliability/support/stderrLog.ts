import type { LogEvent } from "../../../devkit/daemonLog.js"
import type { Namespaced } from "../../support/pidns.js"
import { waitFor } from "../../support/wait.js"

/**
 * The daemon's JSON events as it wrote them to stderr: where its log goes once the log file is
 * unusable (or with CLAWKERD_LOG_STDERR), and the only log a test can read when the log directory is
 * a mount inside the daemon's own mount namespace.
 */
export const stderrEvents = (ns: Namespaced): Array<LogEvent> =>
  ns.stderr().split("\n").flatMap((line) => {
    if (!line.startsWith("{") || !line.endsWith("}")) return []
    try {
      return [JSON.parse(line) as LogEvent]
    } catch {
      return []
    }
  })

export const stderrEventsNamed = (ns: Namespaced, event: string) => stderrEvents(ns).filter((e) => e.event === event)

/** Waits for the first stderr event named `event`. */
export const stderrEvent = async (ns: Namespaced, event: string, timeoutMs = 30_000): Promise<LogEvent> => {
  await waitFor(() => stderrEventsNamed(ns, event).length > 0, timeoutMs, `${event} on stderr`)
  return stderrEventsNamed(ns, event)[0]!
}
