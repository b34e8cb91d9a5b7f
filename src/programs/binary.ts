// The single binary's main script (scripts/build-binary.mjs), what bin.ts is for the package. First, before
// any other module is evaluated: signal handling and the inspector.
import "./guard.js"
import * as path from "node:path"
import { getRawAsset } from "node:sea"
import { errorMessage } from "../lib/errorText.js"
import type { EmbeddedFile } from "../platform/unpackNative.js"
import { UNPACKED_NATIVE, unpackNative } from "../platform/unpackNative.js"
import { compileSource, runCompiled } from "./codeCache.js"
import { versionLine } from "./version.js"

interface Embedded {
  readonly asset: string
  readonly sha256: string
}

/** Set by scripts/build-binary.mjs: the assets' keys, and the SHA-256 of the native files. */
declare const CLAWKERD_EMBEDDED: {
  readonly addon: Embedded
  readonly shim: Embedded
  readonly bundle: string
  readonly codeCache: string
}

/** An asset as a Buffer over the binary's own memory (no copy). */
const asset = (key: string): Buffer => Buffer.from(getRawAsset(key))
const embedded = (file: Embedded): EmbeddedFile => ({ bytes: asset(file.asset), sha256: file.sha256 })

const stderrLine = (level: "error" | "warn", event: string, detail: string) =>
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, event, detail }) + "\n")

if (process.argv[2] === "--version") {
  process.stdout.write(`${versionLine()}\n`)
  process.exit(0)
}

try {
  const globals = globalThis as { [UNPACKED_NATIVE]?: unknown }
  globals[UNPACKED_NATIVE] = unpackNative(embedded(CLAWKERD_EMBEDDED.addon), embedded(CLAWKERD_EMBEDDED.shim))
} catch (e) {
  stderrLine("error", "native_unpack_failed", errorMessage(e))
  process.exit(1)
}

// The daemon (src/programs/entry.ts, bundled with src/platform/seaNative.ts as its native.ts), compiled
// with the code cache of its training run, as bin.ts runs the package's bundle.
const filename = path.join(path.dirname(process.execPath), "clawkerd.cjs")
const script = compileSource(
  asset(CLAWKERD_EMBEDDED.bundle).toString("latin1"),
  filename,
  asset(CLAWKERD_EMBEDDED.codeCache)
)
if (script.cachedDataRejected === true) {
  stderrLine("warn", "code_cache_rejected", "V8 refused the daemon's code cache: it compiles from source, slower")
}
runCompiled(script, filename)
