// The single binary's main script (scripts/build-binary.mjs): what bin.ts and the bundle are for the
// package. First, before any other module is evaluated: signal handling and the inspector.
import "./guard.js"
import { versionLine } from "./version.js"

const unpackFailed = (reason: unknown) => {
  const detail = reason instanceof Error ? reason.message : String(reason)
  process.stderr.write(
    JSON.stringify({ time: new Date().toISOString(), level: "error", event: "native_unpack_failed", detail }) + "\n"
  )
  process.exit(1)
}

if (process.argv[2] === "--version") {
  process.stdout.write(`${versionLine()}\n`)
  process.exit(0)
}
// The addon and the shim first (src/platform/seaNative.ts stands in for native.ts here): a failure to
// unpack them is reported on its own, before the daemon (src/programs/entry.ts) starts.
void import("../platform/native.js").then(() => import("./entry.js"), unpackFailed)
