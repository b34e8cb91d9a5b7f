// `npm run build:binary`: dist/clawkerd, one executable file that an agent image COPYs to
// /usr/local/bin/clawkerd. Node's single executable application support: this Node's own binary with a
// blob injected (postject) that holds
// - the main script: src/programs/binary.ts and the whole daemon bundled (undici included), with
//   src/platform/seaNative.ts in place of src/platform/native.ts, and V8's code cache for it (useCodeCache);
// - the native addon and the exec shim as assets, with their SHA-256 in the main script (they are unpacked
//   and checked at boot: src/platform/unpackNative.ts).
// NODE_OPTIONS is ignored by the binary (execArgvExtension "none"), and its command line is clawkerd's own,
// never node's: it cannot be made to run other code.
// Built with the Node that runs this script, which must be the image's Node line (the Dockerfile's NODE_IMAGE).
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { imageNodeMajor } from "./imageNode.mjs"

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

const native = {
  addon: { asset: "clawkerd_native.node", file: path.join(release, "clawkerd_native.node") },
  shim: { asset: "clawkerd-exec", file: path.join(release, "clawkerd-exec") }
}
for (const { file } of Object.values(native)) {
  if (!fs.existsSync(file)) fail(`${file} is missing: run npm ci (it builds the native edge)`)
}
const embedded = Object.fromEntries(
  Object.entries(native).map(([name, { asset, file }]) => [
    name,
    { asset, sha256: createHash("sha256").update(fs.readFileSync(file)).digest("hex") }
  ])
)
const version = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version

fs.rmSync(work, { recursive: true, force: true })
fs.mkdirSync(work, { recursive: true })
const main = path.join(work, "clawkerd.cjs")
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
await build({
  entryPoints: [path.join(root, "src/programs/binary.ts")],
  outfile: main,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node24",
  // grpc-js requires it only for channelz, never used here.
  external: ["@grpc/proto-loader"],
  plugins: [seaNative],
  define: {
    // import.meta.url only serves to find files next to the module, which the binary has none of.
    "import.meta.url": "__clawkerdModuleUrl",
    CLAWKERD_EMBEDDED_NATIVE: JSON.stringify(embedded),
    CLAWKERD_EMBEDDED_VERSION: JSON.stringify(version)
  },
  banner: { js: "const __clawkerdModuleUrl = require(\"node:url\").pathToFileURL(__filename).href;" },
  // The main script of a single executable has no loader for import(): esbuild turns each into a require.
  supported: { "dynamic-import": false },
  logLevel: "warning"
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
    assets: Object.fromEntries(Object.values(native).map(({ asset, file }) => [asset, file]))
  })
)
execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: ["ignore", "ignore", "inherit"] })

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
const said = execFileSync(staging, ["--version"], { encoding: "utf8", env: {} }).trim()
if (said !== `clawkerd ${version} (node ${process.version})`) fail(`the built binary says ${JSON.stringify(said)}`)
fs.renameSync(staging, output)
console.log(`build-binary: ${path.relative(root, output)}: ${said}, ${(fs.statSync(output).size / 1e6).toFixed(0)} MB`)
