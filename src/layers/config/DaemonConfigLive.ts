import { Config, Duration, Effect, Layer, LogLevel, Option, Result } from "effect"
import * as K from "../../lib/constants.js"
import { parseHostPort } from "../../lib/hostPort.js"
import type { DaemonConfigShape, LoggingSettings, TelemetrySettings } from "../../services/DaemonConfig.js"
import { DaemonConfig, DaemonConfigError } from "../../services/DaemonConfig.js"

/*
 * Every environment variable clawkerd reads is defined here and nowhere else. Values come from
 * the current ConfigProvider (the process environment by default; tests provide a map).
 * An empty value counts as unset: Docker and Kubernetes pass `VAR=` for "not configured".
 * The spec's spellings (`warning`, `TRUE`, ` 10s `) are wider than Config.LogLevel, Config.Boolean and
 * Config.Duration accept, so values are read as strings and parsed here; a parse failure is a
 * DaemonConfigError naming the variable and what was expected.
 */

/** Every problem of several errors as one error (the first leads), flattened. */
const combined = (errors: ReadonlyArray<DaemonConfigError>): DaemonConfigError => {
  const all = errors.flatMap((e) => [e, ...(e.more ?? [])])
  const [first, ...more] = all
  return new DaemonConfigError({ ...first!, more: more.map((e) => new DaemonConfigError({ ...e, more: [] })) })
}

/**
 * Settings are read with Effect.all's result mode, so every one is read even when an earlier one fails;
 * this is the one error naming every problem the operator has to fix.
 */
const everyProblem = (results: Readonly<Record<string, Result.Result<unknown, DaemonConfigError>>>) =>
  combined(Object.values(results).flatMap((r) => Result.isFailure(r) ? [r.failure] : []))

// Every lookup goes through Config.option, so a ConfigError here is the provider's own failure.
const read = <A>(variable: string, expected: string, config: Config.Config<A>): Effect.Effect<A, DaemonConfigError> =>
  Effect.mapError(config, (e) => new DaemonConfigError({ variable, problem: e.message, expected }))

const setting = (variable: string): Config.Config<Option.Option<string>> =>
  Config.String(variable).pipe(
    Config.option,
    Config.map(Option.filter((value) => value.trim() !== ""))
  )

const withDefault = (variable: string, fallback: string): Config.Config<string> =>
  setting(variable).pipe(Config.map(Option.getOrElse(() => fallback)))

/** A setting through a parser whose failure text becomes the DaemonConfigError's problem. */
const parsed = <T, A>(
  variable: string,
  expected: string,
  config: Config.Config<T>,
  parse: (value: T) => Result.Result<A, string>
): Effect.Effect<A, DaemonConfigError> =>
  Effect.flatMap(
    read(variable, expected, config),
    (value) =>
      Effect.fromResult(
        Result.mapError(parse(value), (problem) => new DaemonConfigError({ variable, problem, expected }))
      )
  )

const absolutePath = (variable: string, fallback: string) =>
  parsed(
    variable,
    "an absolute path",
    withDefault(variable, fallback),
    (p) => p.startsWith("/") ? Result.succeed(p) : Result.fail(`"${p}" is not absolute`)
  )

/** The README's names: Effect's own labels (warn, none), and warning and off. */
const LOG_LEVELS: ReadonlyMap<string, LogLevel.LogLevel> = new Map([
  ...LogLevel.values.map((level) => [level.toLowerCase(), level] as const),
  ["warning", "Warn"],
  ["off", "None"]
])

const logLevelOf = (text: string): Result.Result<LogLevel.LogLevel, string> => {
  const level = LOG_LEVELS.get(text.trim().toLowerCase())
  return level === undefined ? Result.fail(`"${text}" is not a log level`) : Result.succeed(level)
}

const booleanOf = (text: string): Result.Result<boolean, string> => {
  const t = text.trim().toLowerCase()
  if (["1", "true", "yes", "on"].includes(t)) return Result.succeed(true)
  if (["0", "false", "no", "off"].includes(t)) return Result.succeed(false)
  return Result.fail(`"${text}" is not a boolean`)
}

const UNITS: Readonly<Record<string, (amount: number) => Duration.Duration>> = {
  ms: Duration.millis,
  s: Duration.seconds,
  m: Duration.minutes,
  h: Duration.hours,
  milli: Duration.millis,
  second: Duration.seconds,
  minute: Duration.minutes,
  hour: Duration.hours,
  day: Duration.days
}

/**
 * `10s`, `500ms`, `2m`, `1h`, a bare number of seconds, or an Effect duration (`10 seconds`, `1 second`,
 * `500 millis`); never negative.
 */
const durationOf = (text: string): Result.Result<Duration.Duration, string> => {
  const t = text.trim()
  if (t.startsWith("-")) return Result.fail(`"${text}" is negative`)
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(t)
  const name = match?.[2] ?? ""
  // `s` and `ms` are units of their own; the long names may take a plural s.
  const unit = UNITS[name === "" ? "s" : name.length > 2 ? name.replace(/s$/, "") : name]
  return match === null || unit === undefined
    ? Result.fail(`"${text}" is not a duration`)
    : Result.succeed(unit(Number(match[1])))
}

const httpsUrlOf = (text: string): Result.Result<URL, string> => {
  if (!URL.canParse(text)) return Result.fail(`"${text}" is not a URL`)
  const url = new URL(text.replace(/\/+$/, ""))
  return url.protocol === "https:" ? Result.succeed(url) : Result.fail(`"${text}" is not an https URL`)
}

const optionalParsed = <A>(variable: string, expected: string, parse: (text: string) => Result.Result<A, string>) =>
  parsed(variable, expected, setting(variable), (value) =>
    Option.match(value, {
      onNone: () => Result.succeed(Option.none<A>()),
      onSome: (text) => Result.map(parse(text), Option.some)
    }))

const parsedRequired = <A>(
  variable: string,
  expected: string,
  fallback: string,
  parse: (text: string) => Result.Result<A, string>
) => parsed(variable, expected, withDefault(variable, fallback), parse)

/** The settings the logger needs; never fails on CLAWKER_AGENT so a missing agent can itself be logged. */
export const loadLoggingSettings: Effect.Effect<LoggingSettings, DaemonConfigError> = Effect.all({
  agent: read("CLAWKER_AGENT", "the agent name", withDefault("CLAWKER_AGENT", "")),
  project: read("CLAWKER_PROJECT", "the project name or empty", withDefault("CLAWKER_PROJECT", "")),
  logDir: absolutePath("CLAWKERD_LOG_DIR", K.DEFAULT_LOG_DIR),
  logLevel: parsedRequired(
    "CLAWKERD_LOG_LEVEL",
    "one of all, trace, debug, info, warning, error, fatal, none (or off)",
    "info",
    logLevelOf
  ),
  logStderr: parsedRequired("CLAWKERD_LOG_STDERR", "true/false, 1/0, yes/no or on/off", "false", booleanOf)
}, { mode: "result" }).pipe(
  Effect.flatMap((results) => Effect.mapError(Effect.fromResult(Result.all(results)), () => everyProblem(results)))
)

/**
 * The OTLP settings. Telemetry never stops the daemon: a setting that cannot be read counts as unset, and a
 * malformed endpoint is OtlpLive's to report.
 */
export const loadTelemetrySettings: Effect.Effect<TelemetrySettings> = Effect.all({
  override: setting("CLAWKERD_OTLP_ENDPOINT"),
  standard: setting("OTEL_EXPORTER_OTLP_ENDPOINT"),
  resourceAttributes: withDefault("OTEL_RESOURCE_ATTRIBUTES", ""),
  bootstrapDir: withDefault("CLAWKERD_BOOTSTRAP_DIR", K.DEFAULT_BOOTSTRAP_DIR)
}).pipe(
  Effect.map(({ bootstrapDir, override, resourceAttributes, standard }) => ({
    endpoint: Option.getOrUndefined(Option.orElse(override, () => standard))?.trim(),
    resourceAttributes,
    bootstrapDir
  })),
  Effect.orElseSucceed(() => ({ endpoint: undefined, resourceAttributes: "", bootstrapDir: K.DEFAULT_BOOTSTRAP_DIR }))
)

const agentRequired = (agent: string) =>
  agent === ""
    ? Effect.fail(
      new DaemonConfigError({
        variable: "CLAWKER_AGENT",
        problem: "is not set",
        expected: "the agent name, set by the clawker CLI"
      })
    )
    : Effect.void

export const loadDaemonConfig = (userCmd: ReadonlyArray<string>): Effect.Effect<DaemonConfigShape, DaemonConfigError> =>
  Effect.all({
    logging: loadLoggingSettings,
    agentSet: Effect.flatMap(read("CLAWKER_AGENT", "the agent name", withDefault("CLAWKER_AGENT", "")), agentRequired),
    user: read("CLAWKER_USER", "a user spec", withDefault("CLAWKER_USER", K.DEFAULT_USER)),
    hydraUrl: optionalParsed("CLAWKER_CP_HYDRA_URL", "an https URL or empty", httpsUrlOf),
    cpAgentAddr: optionalParsed("CLAWKER_CP_AGENT_ADDR", "host:port or empty", parseHostPort),
    bootstrapDir: absolutePath("CLAWKERD_BOOTSTRAP_DIR", K.DEFAULT_BOOTSTRAP_DIR),
    listen: parsedRequired("CLAWKERD_LISTEN", "host:port", K.DEFAULT_LISTEN, parseHostPort),
    initMarker: absolutePath("CLAWKERD_INIT_MARKER", K.DEFAULT_INIT_MARKER),
    readyFile: absolutePath("CLAWKERD_READY_FILE", K.DEFAULT_READY_FILE),
    passwdFile: absolutePath("CLAWKERD_PASSWD_FILE", "/etc/passwd"),
    groupFile: absolutePath("CLAWKERD_GROUP_FILE", "/etc/group"),
    stopGrace: parsedRequired(
      "CLAWKERD_STOP_GRACE",
      "a duration such as 10s, 500ms, 2m, a number of seconds or \"10 seconds\"",
      K.DEFAULT_STOP_GRACE,
      durationOf
    )
  }, { mode: "result" }).pipe(
    Effect.flatMap((results) => Effect.mapError(Effect.fromResult(Result.all(results)), () => everyProblem(results))),
    Effect.map(({ agentSet: _, logging, ...rest }) => ({ ...logging, ...rest, userCmd }))
  )

/** The live config: the current ConfigProvider (process env) plus the program's arguments. */
export const DaemonConfigLive = (userCmd: ReadonlyArray<string>): Layer.Layer<DaemonConfig, DaemonConfigError> =>
  Layer.effect(DaemonConfig, loadDaemonConfig(userCmd))
