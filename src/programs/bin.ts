#!/usr/bin/env node
// First, before any other module is evaluated: signal handling and the inspector (src/platform/bootGuard.ts).
import "./guard.js"
import * as path from "node:path"
import { BUNDLE_FILE, runBundle } from "./codeCache.js"
import { versionLine } from "./version.js"

if (process.argv[2] === "--version") {
  process.stdout.write(`${versionLine()}\n`)
  process.exit(0)
}
// The daemon itself is src/programs/entry.ts, bundled by `npm run build` into dist/programs/clawkerd.cjs.
runBundle(path.join(import.meta.dirname, BUNDLE_FILE))
