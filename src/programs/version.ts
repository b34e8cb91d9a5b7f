import * as fs from "node:fs"

/*
 * The version of the installed package, read from its package.json: two levels up from src/programs,
 * dist/programs and the bundle in dist/programs alike (the bundle's import.meta.url is its own file).
 */
export const packageVersion = (): string => {
  try {
    const pkg: unknown = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
    const version = typeof pkg === "object" && pkg !== null ? (pkg as { version?: unknown }).version : undefined
    return typeof version === "string" ? version : "unknown"
  } catch {
    return "unknown"
  }
}
