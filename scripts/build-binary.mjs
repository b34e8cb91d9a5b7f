// `npm run build:binary`: dist/clawkerd, one executable file that an agent image COPYs to
// /usr/local/bin/clawkerd. Node's single executable application support: this Node's own binary with a
// blob injected (postject) that holds
// - the main script: src/programs/binary.ts, a loader, bundled, with V8's code cache for it (useCodeCache);
// - the daemon: src/programs/entry.ts and everything it imports (undici included) bundled as for the package
//   (scripts/bundle.mjs), with src/platform/seaNative.ts in place of src/platform/native.ts, and the code
//   cache of its training run (scripts/trainCodeCache.mjs), both as assets the loader compiles (as bin.ts
//   does the package's bundle);
// - the native addon and the exec shim as assets, with their SHA-256 in the loader, which unpacks and checks
//   them at boot (src/platform/unpackNative.ts).
// NODE_OPTIONS is ignored by the binary (execArgvExtension "none"), and its command line is clawkerd's own,
// never node's: it cannot be made to run other code. Its V8 flags are PID 1's (src/programs/nodeFlags.ts).
// Built with the Node that runs this script, which must be the image's Node line (the Dockerfile's NODE_IMAGE).
import { build } from "esbuild"
import { execFileSync, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { NODE_FLAGS } from "../dist/programs/nodeFlags.js"
import { imageNodeMajor } from "./imageNode.mjs"
import { trainCodeCache } from "./trainCodeCache.mjs"

const root = path.resolve(import.meta.dirname, "..")
const work = path.join(root, "dist/binary")
const output = path.join(root, "dist/clawkerd")
const release = path.join(root, "native/build/Release")
const fail = (message) => {
  console.error(`build-binary: ${message}`)
  process.exit(1)
}

const imageNode = imageNodeMajor()
const major = process.versions.node.split(".")[0]
if (imageNode === undefined) fail("no `ARG NODE_IMAGE=node:N-…` in the Dockerfile")
if (major !== imageNode) {
  fail(`node ${process.version} is not the image's Node line (${imageNode}): run it with Node ${imageNode}`)
}
if (!fs.existsSync(path.join(root, "dist/programs/codeCache.js"))) fail("dist/ is missing: npm run build first")

const native = {
  addon: { asset: "clawkerd_native.node", file: path.join(release, "clawkerd_native.node") },
  shim: { asset: "clawkerd-exec", file: path.join(release, "clawkerd-exec") }
}
for (const { file } of Object.values(native)) {
  if (!fs.existsSync(file)) fail(`${file} is missing: run npm ci (it builds the native edge)`)
}
const sha256 = (file) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")
const version = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version

fs.rmSync(work, { recursive: true, force: true })
fs.mkdirSync(work, { recursive: true })

// Every import of platform/native.js becomes platform/seaNative.js.
const seaNative = {
  name: "sea-native",
  setup(b) {
    b.onResolve(
      { filter: /(^|\/)native\.js$/ },
      (args) =>
        args.resolveDir.startsWith(path.join(root, "src"))
          ? { path: path.join(root, "src/platform/seaNative.ts") }
          : undefined
    )
  }
}
const bundleOptions = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node24",
  define: { CLAWKERD_EMBEDDED_VERSION: JSON.stringify(version) },
  // ASCII only: the loader reads the bundle as latin1, as src/programs/codeCache.ts does.
  charset: "ascii",
  // Less source to hold in the heap, as for the package (scripts/bundle.mjs).
  minifyWhitespace: true,
  logLevel: "warning"
}

const daemon = path.join(work, "clawkerd.cjs")
await build({
  ...bundleOptions,
  entryPoints: [path.join(root, "src/programs/entry.ts")],
  outfile: daemon,
  // grpc-js requires it only for channelz, never used here.
  external: ["@grpc/proto-loader"],
  plugins: [seaNative],
  // import.meta.url only serves to find files next to a module, which the binary has none of.
  define: { ...bundleOptions.define, "import.meta.url": "__clawkerdModuleUrl" },
  banner: { js: "const __clawkerdModuleUrl = require(\"node:url\").pathToFileURL(__filename).href;" },
  // import("undici") as require: a script compiled by vm has no loader for import().
  supported: { "dynamic-import": false }
})
// The training run has the package's addon where the binary's loader leaves the unpacked one.
const codeCache = await trainCodeCache(
  daemon,
  `import { createRequire } from "node:module"
import { UNPACKED_NATIVE } from ${JSON.stringify(path.join(root, "dist/platform/unpackNative.js"))}
globalThis[UNPACKED_NATIVE] = createRequire(import.meta.url)(${JSON.stringify(path.join(root, "native/index.cjs"))})`
)

const embedded = {
  addon: { asset: native.addon.asset, sha256: sha256(native.addon.file) },
  shim: { asset: native.shim.asset, sha256: sha256(native.shim.file) },
  bundle: "clawkerd.cjs",
  codeCache: "clawkerd.cjs.v8cache"
}
const main = path.join(work, "main.cjs")
await build({
  ...bundleOptions,
  entryPoints: [path.join(root, "src/programs/binary.ts")],
  outfile: main,
  define: { ...bundleOptions.define, CLAWKERD_EMBEDDED: JSON.stringify(embedded) }
})

const blob = path.join(work, "clawkerd.blob")
const config = path.join(work, "sea-config.json")
fs.writeFileSync(
  config,
  JSON.stringify({
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    useSnapshot: false,
    execArgvExtension: "none",
    execArgv: [...NODE_FLAGS],
    assets: {
      [embedded.addon.asset]: native.addon.file,
      [embedded.shim.asset]: native.shim.file,
      [embedded.bundle]: daemon,
      [embedded.codeCache]: codeCache
    }
  })
)
execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: ["ignore", "ignore", "pipe"] })

const staging = `${output}.tmp`
fs.copyFileSync(process.execPath, staging)
fs.chmodSync(staging, 0o755)
execFileSync(process.execPath, [
  path.join(root, "node_modules/postject/dist/cli.js"),
  staging,
  "NODE_SEA_BLOB",
  blob,
  "--sentinel-fuse",
  "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"
], { stdio: ["ignore", "ignore", "pipe"] })

// What it says, and that it boots as far as its configuration with the code cache accepted: exactly the
// one configuration error line, no `code_cache_rejected` or `native_unpack_failed`.
const said = execFileSync(staging, ["--version"], { encoding: "utf8", env: {} }).trim()
if (said !== `clawkerd ${version} (node ${process.version})`) fail(`the built binary says ${JSON.stringify(said)}`)
const booted = spawnSync(staging, [], { encoding: "utf8", env: {} })
if (booted.status !== 2 || !/^clawkerd: configuration error: [^\n]*\n$/.test(booted.stderr)) {
  fail(
    `without configuration the built binary should exit 2 with one configuration error line; it exited ${
      booted.status ?? booted.signal
    }: ${booted.stderr}`
  )
}
fs.renameSync(staging, output)
console.log(`build-binary: ${path.relative(root, output)}: ${said}, ${(fs.statSync(output).size / 1e6).toFixed(0)} MB`)
