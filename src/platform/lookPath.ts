import { Result } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

/** Why `file` cannot be executed, or undefined when it can. */
const notExecutable = (file: string): string | undefined => {
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch {
    return "no such file or directory"
  }
  if (stat.isDirectory()) return "is a directory"
  return stat.isFile() && (stat.mode & 0o111) !== 0 ? undefined : "permission denied"
}

/**
 * The reference's lookup (Go's exec.LookPath) with clawkerd's own PATH, never the child's: the file to
 * execve, or the reference's error text. A name with a "/" is that file (relative to `cwd`), if it can
 * be executed; otherwise the first PATH entry holding an executable file of that name; PATH unset finds
 * nothing. Empty PATH entries, which execvp reads as the cwd, are skipped: a footgun, not a feature.
 */
export const lookPath = (
  program: string,
  pathVariable: string | undefined,
  cwd: string
): Result.Result<string, string> => {
  const failure = (reason: string) => Result.fail(`exec: ${JSON.stringify(program)}: ${reason}`)
  if (program.includes("/")) {
    const file = path.resolve(cwd, program)
    const reason = notExecutable(file)
    return reason === undefined ? Result.succeed(file) : failure(reason)
  }
  for (const dir of (pathVariable ?? "").split(":")) {
    if (dir === "" || program === "") continue
    const file = path.join(path.resolve(cwd, dir), program)
    if (notExecutable(file) === undefined) return Result.succeed(file)
  }
  return failure("executable file not found in $PATH")
}
