import { LogLevel } from "effect"
import type { Layer } from "effect"
import { LoggingTo } from "../../src/layers/Logging.js"

export interface LogRecord {
  readonly event: string
  readonly level: string
  readonly [field: string]: unknown
}

/** A JSON logger that keeps its lines in memory, the same format the file gets. */
export const captureLogs = (agent = "dev", project = "demo") => {
  const lines: Array<string> = []
  const layer: Layer.Layer<never> = LoggingTo(
    { agent, project, logDir: "/nonexistent", logLevel: LogLevel.All, logStderr: false },
    (line) => lines.push(line)
  )
  const records = () => lines.map((l) => JSON.parse(l) as LogRecord)
  const events = (event: string) => records().filter((r) => r.event === event)
  return { layer, lines, records, events }
}
