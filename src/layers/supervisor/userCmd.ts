import { Result } from "effect"

/** What the Supervisor runs: the file to execve and its argv, and why it is not clawkerd's own argv when it was routed. */
export interface CommandPlan {
  readonly argv: ReadonlyArray<string>
  readonly file: string
  readonly routedBecause: string | undefined
}

/** Finds a program on clawkerd's PATH (platform/lookPath.ts): the file, or the reference's error text. */
export type Lookup = (program: string) => Result.Result<string, string>

export const EMPTY_ARGV = "clawkerd: empty argv; container CMD is required"

const lookupFailure = (program: string, reason: string) => `clawkerd: lookup ${JSON.stringify(program)}: ${reason}`

/**
 * A name with a "/" is the file itself (relative to the working directory the CMD starts in), as the
 * reference runs it: a missing one fails at exec.
 */
const resolved = (program: string, lookup: Lookup) =>
  program.includes("/")
    ? Result.succeed(program)
    : Result.mapError(lookup(program), (reason) => lookupFailure(program, reason))

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
  if (defaultCmd === "") {
    return Result.map(resolved(program, lookup), (file) => ({ argv: userCmd, file, routedBecause: undefined }))
  }
  const found = program.startsWith("-") ? Result.fail("argv[0] starts with -") : lookup(program)
  if (Result.isSuccess(found)) return Result.succeed({ argv: userCmd, file: found.success, routedBecause: undefined })
  return Result.map(
    resolved(defaultCmd, lookup),
    (file) => ({ argv: [defaultCmd, ...userCmd], file, routedBecause: found.failure })
  )
}
