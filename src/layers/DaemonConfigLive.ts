import { Config, ConfigError, Duration, Effect, Either, Layer, LogLevel, Option } from "effect"
import * as K from "../domain/constants.js"
import { parseHostPort } from "../domain/hostPort.js"
import type { DaemonConfigShape, LoggingSettings } from "../services/DaemonConfig.js"
import { DaemonConfig, DaemonConfigError } from "../services/DaemonConfig.js"

/*
 * Every environment variable clawkerd reads is defined here and nowhere else. Values come from
 * the current ConfigProvider (the process environment by default; tests provide a map).
 * An empty value counts as unset: Docker and Kubernetes pass `VAR=` for "not configured".
 */

const problemOf = (e: ConfigError.ConfigError): string => {
  switch (e._op) {
    case "MissingData":
      return "is not set"
    case "InvalidData":
    case "SourceUnavailable":
    case "Unsupported":
      return e.message
    case "And":
    case "Or":
      return problemOf(e.left)
  }
}

/** Every problem of several errors as one error (the first leads), flattened. */
const combined = (errors: ReadonlyArray<DaemonConfigError>): DaemonConfigError => {
  const all = errors.flatMap((e) => [e, ...(e.more ?? [])])
  const [first, ...more] = all
  return new DaemonConfigError({ ...first!, more: more.map((e) => new DaemonConfigError({ ...e, more: [] })) })
}

/** Effect.all's "validate" failure (one Option per setting) as one error naming every problem. */
const everyProblem = (problems: Readonly<Record<string, Option.Option<DaemonConfigError>>>): DaemonConfigError =>
  combined(Object.values(problems).flatMap(Option.toArray))

const read = <A>(variable: string, expected: string, config: Config.Config<A>): Effect.Effect<A, DaemonConfigError> =>
  Effect.mapError(config, (e) => new DaemonConfigError({ variable, problem: problemOf(e), expected }))

const setting = (variable: string): Config.Config<Option.Option<string>> =>
  Config.string(variable).pipe(
    Config.option,
    Config.map(Option.filter((value) => value.trim() !== ""))
  )

const withDefault = (variable: string, fallback: string): Config.Config<string> =>
  setting(variable).pipe(Config.map(Option.getOrElse(() => fallback)))

const invalid = (variable: string, problem: string): ConfigError.ConfigError =>
  ConfigError.InvalidData([variable], problem)

const absolutePath = (variable: string, fallback: string) =>
  read(
    variable,
    "an absolute path",
    withDefault(variable, fallback).pipe(
      Config.mapOrFail((p) =>
        p.startsWith("/") ? Either.right(p) : Either.left(invalid(variable, `"${p}" is not absolute`))
      )
    )
  )

/** The README's names, plus Effect's own labels (warn, off). */
const LOG_LEVELS: ReadonlyMap<string, LogLevel.LogLevel> = new Map([
  ...LogLevel.allLevels.map((level) => [level.label.toLowerCase(), level] as const),
  ["warning", LogLevel.Warning],
  ["none", LogLevel.None]
])

const logLevelOf = (text: string): Either.Either<LogLevel.LogLevel, string> => {
  const level = LOG_LEVELS.get(text.trim().toLowerCase())
  return level === undefined ? Either.left(`"${text}" is not a log level`) : Either.right(level)
}

const booleanOf = (text: string): Either.Either<boolean, string> => {
  const t = text.trim().toLowerCase()
  if (["1", "true", "yes", "on"].includes(t)) return Either.right(true)
  if (["0", "false", "no", "off"].includes(t)) return Either.right(false)
  return Either.left(`"${text}" is not a boolean`)
}

const SHORT_UNITS: Readonly<Record<string, Duration.Unit>> = { ms: "millis", s: "seconds", m: "minutes", h: "hours" }

/** `10s`, `500ms`, `2m`, `1h`, a bare number of seconds, or an Effect duration (`10 seconds`); never negative. */
const durationOf = (text: string): Either.Either<Duration.Duration, string> => {
  const t = text.trim()
  if (t.startsWith("-")) return Either.left(`"${text}" is negative`)
  const short = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(t)
  const decoded = short === null
    ? Duration.decodeUnknown(t)
    : Option.some(Duration.decode(`${Number(short[1])} ${SHORT_UNITS[short[2] ?? "s"] ?? "seconds"}`))
  return Option.match(decoded, {
    onNone: () => Either.left(`"${text}" is not a duration`),
    onSome: Either.right
  })
}

const httpsUrlOf = (text: string): Either.Either<URL, string> => {
  if (!URL.canParse(text)) return Either.left(`"${text}" is not a URL`)
  const url = new URL(text.replace(/\/+$/, ""))
  return url.protocol === "https:" ? Either.right(url) : Either.left(`"${text}" is not an https URL`)
}

const optionalParsed = <A>(variable: string, parse: (text: string) => Either.Either<A, string>) =>
  setting(variable).pipe(
    Config.mapOrFail((value) =>
      Option.match(value, {
        onNone: () => Either.right(Option.none<A>()),
        onSome: (text) => Either.map(Either.mapLeft(parse(text), (p) => invalid(variable, p)), Option.some)
      })
    )
  )

const parsedRequired = <A>(variable: string, fallback: string, parse: (text: string) => Either.Either<A, string>) =>
  withDefault(variable, fallback).pipe(
    Config.mapOrFail((text) => Either.mapLeft(parse(text), (p) => invalid(variable, p)))
  )

/** The settings the logger needs; never fails on CLAWKER_AGENT so a missing agent can itself be logged. */
export const loadLoggingSettings: Effect.Effect<LoggingSettings, DaemonConfigError> = Effect.all({
  agent: read("CLAWKER_AGENT", "the agent name", withDefault("CLAWKER_AGENT", "")),
  project: read("CLAWKER_PROJECT", "the project name or empty", withDefault("CLAWKER_PROJECT", "")),
  logDir: absolutePath("CLAWKERD_LOG_DIR", K.DEFAULT_LOG_DIR),
  logLevel: read(
    "CLAWKERD_LOG_LEVEL",
    "one of all, trace, debug, info, warning, error, fatal, none",
    parsedRequired("CLAWKERD_LOG_LEVEL", "info", logLevelOf)
  ),
  logStderr: read(
    "CLAWKERD_LOG_STDERR",
    "true/false, 1/0, yes/no or on/off",
    parsedRequired("CLAWKERD_LOG_STDERR", "false", booleanOf)
  )
}, { mode: "validate" }).pipe(Effect.mapError(everyProblem))

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
    hydraUrl: read(
      "CLAWKER_CP_HYDRA_URL",
      "an https URL or empty",
      optionalParsed("CLAWKER_CP_HYDRA_URL", httpsUrlOf)
    ),
    cpAgentAddr: read(
      "CLAWKER_CP_AGENT_ADDR",
      "host:port or empty",
      optionalParsed("CLAWKER_CP_AGENT_ADDR", parseHostPort)
    ),
    bootstrapDir: absolutePath("CLAWKERD_BOOTSTRAP_DIR", K.DEFAULT_BOOTSTRAP_DIR),
    listen: read(
      "CLAWKERD_LISTEN",
      "host:port",
      parsedRequired("CLAWKERD_LISTEN", K.DEFAULT_LISTEN, parseHostPort)
    ),
    initMarker: absolutePath("CLAWKERD_INIT_MARKER", K.DEFAULT_INIT_MARKER),
    readyFile: absolutePath("CLAWKERD_READY_FILE", K.DEFAULT_READY_FILE),
    passwdFile: absolutePath("CLAWKERD_PASSWD_FILE", "/etc/passwd"),
    groupFile: absolutePath("CLAWKERD_GROUP_FILE", "/etc/group"),
    stopGrace: read(
      "CLAWKERD_STOP_GRACE",
      "a duration such as 10s, 500ms, 2m, a number of seconds or \"10 seconds\"",
      parsedRequired("CLAWKERD_STOP_GRACE", K.DEFAULT_STOP_GRACE, durationOf)
    )
  }, { mode: "validate" }).pipe(
    Effect.mapError(everyProblem),
    Effect.map(({ agentSet: _, logging, ...rest }) => ({ ...logging, ...rest, userCmd }))
  )

/** The live config: the current ConfigProvider (process env) plus the program's arguments. */
export const DaemonConfigLive = (userCmd: ReadonlyArray<string>): Layer.Layer<DaemonConfig, DaemonConfigError> =>
  Layer.effect(DaemonConfig, loadDaemonConfig(userCmd))
