import * as fs from "node:fs"

let atExec: Readonly<Record<string, string>> | undefined

const parse = (block: string): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const entry of block.split("\0")) {
    const eq = entry.indexOf("=")
    // getenv's rule: the first of a name wins.
    if (eq > 0 && !(entry.slice(0, eq) in env)) env[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  return env
}

/**
 * The environment this process was exec'd with: the kernel's copy of it (/proc/self/environ), which
 * nothing the process sets or unsets later changes. What the image gave clawkerd is what it passes on,
 * whatever its own runtime did to `process.env` since; without /proc, `process.env` as it is.
 */
export const execEnvironment = (): Readonly<Record<string, string>> => {
  if (atExec !== undefined) return atExec
  try {
    atExec = parse(fs.readFileSync("/proc/self/environ", "utf8"))
  } catch {
    return Object.fromEntries(Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [[k, v]])))
  }
  return atExec
}
