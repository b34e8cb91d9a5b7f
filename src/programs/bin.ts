#!/usr/bin/env node
import * as path from "node:path"
import { BUNDLE_FILE, runBundle } from "./codeCache.js"

// The daemon itself is src/programs/entry.ts, bundled by `npm run build` into dist/programs/clawkerd.cjs.
runBundle(path.join(import.meta.dirname, BUNDLE_FILE))
