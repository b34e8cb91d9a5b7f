/** What happened in a Session and how long each exchange took, printed as a table. */
export interface TimelineEntry {
  readonly startedMs: number
  readonly command: string
  readonly response: string
  readonly tookMs: number
}

export class Timeline {
  readonly entries: Array<TimelineEntry> = []
  constructor(private readonly origin: number = performance.now()) {}

  /** Runs one exchange and records it; `describe` renders what came back. */
  async step<A>(command: string, exchange: () => Promise<A>, describe: (a: A) => string): Promise<A> {
    const start = performance.now()
    const result = await exchange()
    this.entries.push({
      startedMs: start - this.origin,
      command,
      response: describe(result),
      tookMs: performance.now() - start
    })
    return result
  }

  render(): string {
    const width = Math.max(7, ...this.entries.map((e) => e.command.length))
    const rows = this.entries.map((e) =>
      `${e.startedMs.toFixed(0).padStart(7)}  ${e.command.padEnd(width)}  ${
        e.tookMs.toFixed(1).padStart(7)
      }  ${e.response}`
    )
    return [`${"t (ms)".padStart(7)}  ${"command".padEnd(width)}  ${"took ms".padStart(7)}  response`, ...rows].join(
      "\n"
    )
  }
}
