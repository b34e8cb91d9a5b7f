import { Result } from "effect"

/** What the Supervisor runs, and why it is not clawkerd's own argv when it was routed. */
export interface CommandPlan {
  readonly argv: ReadonlyArray<string>
  readonly routedBecause: string | undefined
}

/** Finds a program as execvp would: undefined when found, else why not. */
export type Lookup = (program: string) => string | undefined

export const EMPTY_ARGV = "empty argv; container CMD is required"

const lookupFailure = (program: string, reason: string) => `lookup ${JSON.stringify(program)}: ${reason}`

/**
 * The spec's "--help routing", the Docker image convention: with a default_cmd (one program, never
 * split), an argv that starts with an option or names no program found on PATH is arguments for the
 * default command. An empty argv is an error even with a default_cmd; a program that cannot be found
 * (argv[0] without routing, or the default_cmd after it) is an error before anything is spawned.
 */
export const planUserCmd = (
  userCmd: ReadonlyArray<string>,
  defaultCmd: string,
  lookup: Lookup
): Result.Result<CommandPlan, string> => {
  const [program] = userCmd
  if (program === undefined) return Result.fail(EMPTY_ARGV)
  const notFound = program.startsWith("-") && defaultCmd !== "" ? undefined : lookup(program)
  if (defaultCmd === "") {
    return notFound === undefined
      ? Result.succeed({ argv: userCmd, routedBecause: undefined })
      : Result.fail(lookupFailure(program, notFound))
  }
  const routedBecause = program.startsWith("-") ? "argv[0] starts with -" : notFound
  if (routedBecause === undefined) return Result.succeed({ argv: userCmd, routedBecause })
  const defaultMissing = lookup(defaultCmd)
  return defaultMissing === undefined
    ? Result.succeed({ argv: [defaultCmd, ...userCmd], routedBecause })
    : Result.fail(lookupFailure(defaultCmd, defaultMissing))
}
