import { Config, Duration, Effect, Layer, Option, Result } from "effect"
import type { LogLevel } from "effect"
import * as K from "../domain/constants.js"
import { parseHostPort } from "../domain/hostPort.js"
import type { DaemonConfigShape, LoggingSettings } from "../services/DaemonConfig.js"
import { DaemonConfig, DaemonConfigError } from "../services/DaemonConfig.js"

/*
 * Every environment variable clawkerd reads is defined here and nowhere else. Values come from
 * the current ConfigProvider (the process environment by default; tests provide a map).
 * An empty value counts as unset: Docker and Kubernetes pass `VAR=` for "not configured".
 */

// Effect 4: ConfigError is one class wrapping a ConfigProvider.SourceError or a Schema.SchemaError (no
// MissingData/InvalidData/And/Or ADT). Every lookup below goes through Config.option, so absence never reaches
// it; the hand parsers fail with a DaemonConfigError directly instead of a ConfigError.InvalidData.
const problemOf = (e: Config.ConfigError): string => e.message

const read = <A>(variable: string, expected: string, config: Config.Config<A>): Effect.Effect<A, DaemonConfigError> =>
  Effect.mapError(config, (e) => new DaemonConfigError({ variable, problem: problemOf(e), expected }))

const setting = (variable: string): Config.Config<Option.Option<string>> =>
  Config.String(variable).pipe(
    Config.option,
    Config.map(Option.filter((value) => value.trim() !== ""))
  )

const withDefault = (variable: string, fallback: string): Config.Config<string> =>
  setting(variable).pipe(Config.map(Option.getOrElse(() => fallback)))

/** A raw setting through a hand parser whose failure text becomes the DaemonConfigError's problem. */
const parsed = <T, A>(
  variable: string,
  expected: string,
  config: Config.Config<T>,
  parse: (value: T) => Result.Result<A, string>
): Effect.Effect<A, DaemonConfigError> =>
  Effect.flatMap(read(variable, expected, config), (value) =>
    Result.match(parse(value), {
      onFailure: (problem) => Effect.fail(new DaemonConfigError({ variable, problem, expected })),
      onSuccess: Effect.succeed
    }))

const absolutePath = (variable: string, fallback: string) =>
  parsed(
    variable,
    "an absolute path",
    withDefault(variable, fallback),
    (p) => p.startsWith("/") ? Result.succeed(p) : Result.fail(`"${p}" is not absolute`)
  )

// LogLevel is a string union in Effect 4 ("All" | "Fatal" | "Error" | "Warn" | "Info" | "Debug" | "Trace" | "None");
// the spec's spellings (lowercase, "warning") are kept, so Config.LogLevel (exact PascalCase literals) does not fit.
const LOG_LEVEL_NAMES: Record<string, LogLevel.LogLevel> = {
  all: "All",
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
}
const logLevelOf = (text: string): Result.Result<LogLevel.LogLevel, string> => {
  const level = LOG_LEVEL_NAMES[text.trim().toLowerCase()]
  return level === undefined ? Result.fail(`"${text}" is not a log level`) : Result.succeed(level)
}

const booleanOf = (text: string): Result.Result<boolean, string> => {
  const t = text.trim().toLowerCase()
  if (["1", "true", "yes", "on"].includes(t)) return Result.succeed(true)
  if (["0", "false", "no", "off"].includes(t)) return Result.succeed(false)
  return Result.fail(`"${text}" is not a boolean`)
}

const durationOf = (text: string): Result.Result<Duration.Duration, string> =>
  Option.match(Duration.fromInput(text.trim() as Duration.Input), {
    onNone: () => Result.fail(`"${text}" is not a duration`),
    onSome: Result.succeed
  })

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
    "one of all, trace, debug, info, warning, error, fatal, none",
    "info",
    logLevelOf
  ),
  logStderr: parsedRequired(
    "CLAWKERD_LOG_STDERR",
    "true/false, 1/0, yes/no or on/off",
    "false",
    booleanOf
  )
})

export const loadDaemonConfig = (userCmd: ReadonlyArray<string>): Effect.Effect<DaemonConfigShape, DaemonConfigError> =>
  Effect.gen(function*() {
    const logging = yield* loadLoggingSettings
    if (logging.agent === "") {
      return yield* new DaemonConfigError({
        variable: "CLAWKER_AGENT",
        problem: "is not set",
        expected: "the agent name, set by the clawker CLI"
      })
    }
    return {
      ...logging,
      user: yield* read("CLAWKER_USER", "a user spec", withDefault("CLAWKER_USER", K.DEFAULT_USER)),
      hydraUrl: yield* optionalParsed("CLAWKER_CP_HYDRA_URL", "an https URL or empty", httpsUrlOf),
      cpAgentAddr: yield* optionalParsed("CLAWKER_CP_AGENT_ADDR", "host:port or empty", parseHostPort),
      bootstrapDir: yield* absolutePath("CLAWKERD_BOOTSTRAP_DIR", K.DEFAULT_BOOTSTRAP_DIR),
      listen: yield* parsedRequired("CLAWKERD_LISTEN", "host:port", K.DEFAULT_LISTEN, parseHostPort),
      initMarker: yield* absolutePath("CLAWKERD_INIT_MARKER", K.DEFAULT_INIT_MARKER),
      readyFile: yield* absolutePath("CLAWKERD_READY_FILE", K.DEFAULT_READY_FILE),
      passwdFile: yield* absolutePath("CLAWKERD_PASSWD_FILE", "/etc/passwd"),
      groupFile: yield* absolutePath("CLAWKERD_GROUP_FILE", "/etc/group"),
      stopGrace: yield* parsedRequired(
        "CLAWKERD_STOP_GRACE",
        "an Effect duration such as \"10 seconds\"",
        K.DEFAULT_STOP_GRACE,
        durationOf
      ),
      userCmd
    }
  })

/** The live config: the current ConfigProvider (process env) plus the program's arguments. */
export const DaemonConfigLive = (userCmd: ReadonlyArray<string>): Layer.Layer<DaemonConfig, DaemonConfigError> =>
  Layer.effect(DaemonConfig, loadDaemonConfig(userCmd))
