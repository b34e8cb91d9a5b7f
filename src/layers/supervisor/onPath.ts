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
 * execvp's lookup with clawkerd's own PATH: a name with a "/" is taken as is (relative to `cwd`);
 * otherwise the first PATH entry holding an executable file of that name; PATH unset finds nothing.
 * Empty PATH entries, which execvp reads as the cwd, are skipped: a footgun, not a feature.
 * Undefined when found, else why not.
 */
export const lookupProgram = (program: string, pathVariable: string | undefined, cwd: string): string | undefined => {
  if (program.includes("/")) return notExecutable(path.resolve(cwd, program))
  const found = (pathVariable ?? "")
    .split(":")
    .filter((dir) => dir !== "")
    .some((dir) => notExecutable(path.join(path.resolve(cwd, dir), program)) === undefined)
  return found ? undefined : "executable file not found in $PATH"
}
