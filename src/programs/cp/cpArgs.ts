import { Result } from "effect"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { errorMessage } from "../../lib/errorText.js"
import { formatHostPort, parseHostPort } from "../../lib/hostPort.js"

/** clawkerd-cp's command line, checked before anything is dialled: a usage error never reaches the agent. */

export const VERBS = ["hello", "exec", "init-done", "ready", "register"] as const
export type Verb = (typeof VERBS)[number]

export interface ExecArgs {
  /** `-i`: forward stdin; otherwise the command's stdin is closed at once, as without `docker exec -i`. */
  readonly interactive: boolean
  readonly env: Readonly<Record<string, string>>
  /** `name|uid[:group|gid]`, resolved against the container's passwd and group files. */
  readonly user: string | undefined
  readonly workdir: string
  readonly timeoutSeconds: number
  readonly argv: ReadonlyArray<string>
}

export type CpArgs =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | {
    readonly _tag: "Run"
    readonly verb: Verb
    readonly addr: string
    readonly files: { readonly ca: string; readonly cert: string; readonly key: string }
    readonly agentCn: string | undefined
    readonly defaultCmd: string
    readonly exec: ExecArgs
  }

const OPTIONS = {
  addr: { type: "string" },
  ca: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  "agent-cn": { type: "string" },
  interactive: { type: "boolean", short: "i" },
  env: { type: "string", short: "e", multiple: true },
  user: { type: "string", short: "u" },
  workdir: { type: "string", short: "w" },
  timeout: { type: "string" },
  "default-cmd": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" }
} as const

const EXEC_ONLY = ["interactive", "env", "user", "workdir", "timeout"] as const

const takesValue = (name: string): boolean => {
  const option = Object.entries(OPTIONS).find(([long, o]) => long === name || ("short" in o && o.short === name))
  return option?.[1].type === "string"
}

/**
 * Where the command's own argv starts: after `--`, or at exec's first operand, like `docker exec`
 * (`clawkerd-cp exec -i sh -c 'cat'` leaves `-c` to sh).
 */
const splitArgv = (args: ReadonlyArray<string>): { readonly own: Array<string>; readonly argv: Array<string> } => {
  let verb: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") return { own: args.slice(0, i), argv: args.slice(i + 1) }
    if (arg.startsWith("--")) {
      if (!arg.includes("=") && takesValue(arg.slice(2))) i++
    } else if (arg.startsWith("-") && arg.length > 1) {
      // A short group such as -iw DIR: the first letter taking a value takes the rest or the next word.
      const valued = [...arg.slice(1)].findIndex(takesValue)
      if (valued === arg.length - 2) i++
    } else if (verb === undefined) {
      verb = arg
    } else if (verb === "exec") {
      return { own: args.slice(0, i), argv: args.slice(i) }
    }
  }
  return { own: [...args], argv: [] }
}

/** `KEY=VAL`, or `KEY` alone for the value in our own environment (left out when unset), as `docker exec -e`. */
const parseEnv = (specs: ReadonlyArray<string>, ownEnv: NodeJS.ProcessEnv) =>
  Result.gen(function*() {
    const env: Record<string, string> = {}
    for (const spec of specs) {
      const eq = spec.indexOf("=")
      const key = eq < 0 ? spec : spec.slice(0, eq)
      if (key === "") return yield* Result.fail(`-e "${spec}": the variable name is empty`)
      const value = eq < 0 ? ownEnv[key] : spec.slice(eq + 1)
      if (value !== undefined) env[key] = value
    }
    return env
  })

/** A client needs the agent's port; grpc-js would silently dial 443 without one. */
const parseAddr = (text: string) =>
  Result.flatMap(
    parseHostPort(text),
    (hostPort) =>
      hostPort.port === 0 || text.startsWith(":")
        ? Result.fail(`"${text}" needs a host and a port from 1 to 65535`)
        : Result.succeed(formatHostPort(hostPort))
  ).pipe(Result.mapError((reason) => `--addr ${reason} (clawkerd listens on port 7700)`))

const parseTimeout = (text: string | undefined) =>
  text === undefined
    ? Result.succeed(0)
    : /^\d+$/.test(text) && Number(text) <= 0xffffffff
    ? Result.succeed(Number(text))
    : Result.fail(`--timeout "${text}" is not a whole number of seconds`)

/** The Left is a usage error, to be printed with the usage. */
export const parseCpArgs = (
  args: ReadonlyArray<string>,
  ownEnv: NodeJS.ProcessEnv
): Result.Result<CpArgs, string> =>
  Result.gen(function*() {
    const { own, argv } = splitArgv(args)
    const { positionals, values } = yield* Result.try({
      try: () => parseArgs({ args: own, options: OPTIONS, allowPositionals: true, strict: true }),
      catch: errorMessage
    })
    if (values.help === true) return { _tag: "Help" } as const
    if (values.version === true) return { _tag: "Version" } as const
    const [verbText, ...extra] = positionals
    if (verbText === undefined) return yield* Result.fail("a command is required")
    const verb = VERBS.find((v) => v === verbText)
    if (verb === undefined) return yield* Result.fail(`unknown command "${verbText}"`)
    if (extra.length > 0) return yield* Result.fail(`${verb} takes no operands (got "${extra.join(" ")}")`)
    if (verb === "exec" && argv.length === 0) return yield* Result.fail("exec needs a command to run")
    if (verb !== "exec") {
      const misplaced = EXEC_ONLY.find((name) => values[name] !== undefined)
      if (misplaced !== undefined) return yield* Result.fail(`--${misplaced} is an exec option`)
      if (argv.length > 0) return yield* Result.fail(`${verb} takes no command`)
    }
    if (values["default-cmd"] !== undefined && verb !== "ready") {
      return yield* Result.fail("--default-cmd is a ready option")
    }
    const workdir = values.workdir ?? ""
    if (workdir !== "" && !path.posix.isAbsolute(workdir)) {
      return yield* Result.fail(`-w "${workdir}": the working directory must be an absolute path`)
    }
    if (values.user === "") return yield* Result.fail("-u: the user is empty")
    const required = (name: "addr" | "ca" | "cert" | "key", variable: string) => {
      const value = values[name] ?? ownEnv[variable]
      return value === undefined || value === ""
        ? Result.fail(`--${name} is required (or ${variable})`)
        : Result.succeed(value)
    }
    const addr = yield* Result.flatMap(required("addr", "CLAWKERD_CP_ADDR"), parseAddr)
    return {
      _tag: "Run",
      verb,
      addr,
      files: {
        ca: yield* required("ca", "CLAWKERD_CP_CA"),
        cert: yield* required("cert", "CLAWKERD_CP_CERT"),
        key: yield* required("key", "CLAWKERD_CP_KEY")
      },
      agentCn: values["agent-cn"],
      defaultCmd: values["default-cmd"] ?? "",
      exec: {
        interactive: values.interactive === true,
        env: yield* parseEnv(values.env ?? [], ownEnv),
        user: values.user,
        workdir,
        timeoutSeconds: yield* parseTimeout(values.timeout),
        argv
      }
    } as const
  })
