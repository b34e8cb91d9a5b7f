import { Result } from "effect"

/** What the Supervisor runs, and why it is not clawkerd's own argv when it was routed. */
export interface CommandPlan {
  readonly argv: ReadonlyArray<string>
  readonly routedBecause: string | undefined
}

/**
 * default_cmd is a plain command line split on runs of whitespace, with no quoting or expansion
 * (the same as Go's strings.Fields); anything fancier belongs in `sh -c "..."`.
 */
export const splitCommandLine = (text: string): Array<string> => text.split(/\s+/).filter((word) => word !== "")

/**
 * The spec's "--help routing", the Docker image convention: with a default_cmd, an argv that
 * starts with an option or names no program on PATH is arguments for the default command.
 */
export const planUserCmd = (
  userCmd: ReadonlyArray<string>,
  defaultCmd: string,
  isFound: (program: string) => boolean
): Result.Result<CommandPlan, string> => {
  const fallback = splitCommandLine(defaultCmd)
  const [program] = userCmd
  if (program === undefined) {
    return fallback.length > 0
      ? Result.succeed({ argv: fallback, routedBecause: undefined })
      : Result.fail("no command to run: clawkerd was started without arguments and AgentReady has no default_cmd")
  }
  if (fallback.length === 0) return Result.succeed({ argv: userCmd, routedBecause: undefined })
  const routedBecause = program.startsWith("-")
    ? "argv[0] starts with -"
    : isFound(program)
    ? undefined
    : "argv[0] is not found on PATH"
  return Result.succeed({ argv: routedBecause === undefined ? userCmd : [...fallback, ...userCmd], routedBecause })
}
