import * as fs from "node:fs"
import * as path from "node:path"

/** glibc's execvp searches this when PATH is unset. */
const DEFAULT_PATH = "/bin:/usr/bin"

const isExecutableFile = (file: string): boolean => {
  try {
    const stat = fs.statSync(file)
    return stat.isFile() && (stat.mode & 0o111) !== 0
  } catch {
    return false
  }
}

/**
 * Would execvp find `program` in the child (PATH from its environment, relative paths from its
 * cwd)? Empty PATH entries, which execvp reads as the cwd, are skipped: a footgun, not a feature.
 */
export const isFoundOnPath = (program: string, pathVariable: string | undefined, cwd: string): boolean =>
  program.includes("/")
    ? isExecutableFile(path.resolve(cwd, program))
    : (pathVariable ?? DEFAULT_PATH)
      .split(":")
      .filter((dir) => dir !== "")
      .some((dir) => isExecutableFile(path.join(path.resolve(cwd, dir), program)))
