import * as fs from "node:fs"

/** One line of clawkerd's JSON log. */
export interface LogEvent {
  readonly event: string
  readonly level: string
  readonly time: string
  readonly [field: string]: unknown
}

/** Every complete line of a clawkerd log file; missing file = no events yet. */
export const readLogEvents = (file: string): Array<LogEvent> => {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch {
    return []
  }
  return text.split("\n").filter((line) => line.startsWith("{") && line.endsWith("}")).map((line) =>
    JSON.parse(line) as LogEvent
  )
}

/**
 * The port a daemon started with CLAWKERD_LISTEN=…:0 bound, from its `clawkerd_listener_started`
 * event. Rejects when `gone()` says the daemon stopped first.
 */
export const listenerPort = async (logFile: string, gone: () => boolean, timeoutMs = 30_000): Promise<number> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const started = readLogEvents(logFile).find((e) => e.event === "clawkerd_listener_started")
    if (started !== undefined) return Number(started.port)
    if (gone()) throw new Error(`clawkerd exited before its listener started (log: ${logFile})`)
    if (Date.now() > deadline) throw new Error(`clawkerd did not start listening within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
