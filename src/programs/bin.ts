#!/usr/bin/env node
// First, before any other module is evaluated: signal handling and the inspector (src/platform/bootGuard.ts).
import "./guard.js"
import * as path from "node:path"
import { BUNDLE_FILE, runBundle } from "./codeCache.js"

// The daemon itself is src/programs/entry.ts, bundled by `npm run build` into dist/programs/clawkerd.cjs.
runBundle(path.join(import.meta.dirname, BUNDLE_FILE))
