import type { Duration, LogLevel, Option } from "effect"
import { Context, Data } from "effect"
import type { HostPort } from "../lib/hostPort.js"

export type { HostPort }

/** Where and how clawkerd logs; readable before the rest of the config is known to be valid. */
export interface LoggingSettings {
  readonly agent: string
  readonly project: string
  readonly logDir: string
  readonly logLevel: LogLevel.LogLevel
  readonly logStderr: boolean
}

/** Where clawkerd exports OTLP; read with the logging settings, and never a reason not to start. */
export interface TelemetrySettings {
  /** The collector's base URL as given (CLAWKERD_OTLP_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT); unset: none. */
  readonly endpoint: string | undefined
  /** OTEL_RESOURCE_ATTRIBUTES as given: `key=value,…`. */
  readonly resourceAttributes: string
  /** Where the agent certificate, and so the container id, is. */
  readonly bootstrapDir: string
}

export interface DaemonConfigShape extends LoggingSettings {
  readonly user: string
  /** Base URL of Hydra, trailing slash trimmed; absent until the CP provides it. */
  readonly hydraUrl: Option.Option<URL>
  readonly cpAgentAddr: Option.Option<HostPort>
  readonly bootstrapDir: string
  readonly listen: HostPort
  readonly initMarker: string
  readonly readyFile: string
  readonly passwdFile: string
  readonly groupFile: string
  readonly stopGrace: Duration.Duration
  /** The program's arguments: the user CMD, exactly as ENTRYPOINT + CMD pass them. */
  readonly userCmd: ReadonlyArray<string>
}

export class DaemonConfig extends Context.Service<DaemonConfig, DaemonConfigShape>()("clawkerd/DaemonConfig") {}

/** An environment variable that is missing or malformed, and any others found in the same read. */
export class DaemonConfigError extends Data.TaggedError("DaemonConfigError")<{
  readonly variable: string
  readonly problem: string
  readonly expected: string
  /** Every further problem, so the operator fixes them all at once. */
  readonly more?: ReadonlyArray<DaemonConfigError>
}> {
  override get message(): string {
    const one = (e: DaemonConfigError) => `${e.variable}: ${e.problem} (expected ${e.expected})`
    return [this, ...(this.more ?? [])].map(one).join("; ")
  }
}
