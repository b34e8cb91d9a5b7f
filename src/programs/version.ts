import * as fs from "node:fs"

/** Set by scripts/build-binary.mjs: the single binary has no package.json beside it. */
declare const CLAWKERD_EMBEDDED_VERSION: string | undefined

/*
 * The version of the installed package, read from its package.json: two levels up from src/programs,
 * dist/programs and the bundle in dist/programs alike (the bundle's import.meta.url is its own file).
 */
export const packageVersion = (): string => {
  if (typeof CLAWKERD_EMBEDDED_VERSION === "string") return CLAWKERD_EMBEDDED_VERSION
  try {
    const pkg: unknown = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
    const version = typeof pkg === "object" && pkg !== null ? (pkg as { version?: unknown }).version : undefined
    return typeof version === "string" ? version : "unknown"
  } catch {
    return "unknown"
  }
}

/** What `clawkerd --version` prints: the daemon's version and the Node that runs it. */
export const versionLine = (): string => `clawkerd ${packageVersion()} (node ${process.version})`
