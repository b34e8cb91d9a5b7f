// The daemon as it ships: src/programs/entry.ts and everything it imports in one CommonJS file,
// dist/programs/clawkerd.cjs, which dist/programs/bin.js (src/programs/bin.ts) compiles with V8's code
// cache (src/programs/codeCache.ts). Loading ~400 modules one by one, the effect package's barrel above
// all, was most of clawkerd's boot; compiling the bundle from source was most of the rest (bench/boot.ts).
//
// Left outside, loaded from node_modules at run time: the native addon (a .node file next to its
// exec shim), undici (only Register needs it; HydraLive loads it on first use), and
// @grpc/proto-loader, which grpc-js requires only for channelz, never used here.
//
// The code cache comes from a training run of the bundle (scripts/trainCodeCache.mjs).
import { build } from "esbuild"
import * as path from "node:path"
import { trainCodeCache } from "./trainCodeCache.mjs"

const root = path.resolve(import.meta.dirname, "..")
const programs = path.join(root, "dist/programs")
const bundle = path.join(programs, "clawkerd.cjs")

await build({
  entryPoints: [path.join(root, "src/programs/entry.ts")],
  outfile: bundle,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["@clawkerd/native", "undici", "@grpc/proto-loader"],
  // A CommonJS file has no import.meta; src/platform/native.ts resolves the addon from this URL.
  define: { "import.meta.url": "__clawkerdModuleUrl" },
  banner: { js: "const __clawkerdModuleUrl = require(\"node:url\").pathToFileURL(__filename).href;" },
  // import("undici") as require: a script compiled by vm has no loader for import().
  supported: { "dynamic-import": false },
  // ASCII only (non-ASCII escaped): src/programs/codeCache.ts reads the bundle as latin1.
  charset: "ascii",
  // The source stays in the heap for as long as the daemon runs (V8 compiles functions from it lazily),
  // with a table of its line ends: without comments, indentation and line breaks it is 1.6 MB, not 2.3, and
  // the daemon idles in ~1.7 MiB less RSS (bench/memory.ts). Names stay; the source map maps stack traces back.
  minifyWhitespace: true,
  sourcemap: true,
  logLevel: "warning"
})

await trainCodeCache(bundle)
