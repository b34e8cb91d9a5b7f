// The daemon as it ships: src/programs/bin.ts and everything it imports in one ESM file, written over the
// per-module dist/programs/bin.js that tsc emitted (`npm run build` runs tsc, then this), so the bin
// entry, the Dockerfile and the e2e tests keep one path. Loading ~400 modules one by one, the effect
// package's barrel above all, was most of clawkerd's boot (bench/boot.ts).
//
// Left outside, loaded from node_modules at run time: the native addon (a .node file next to its
// exec shim), undici (only Register needs it; HydraLive imports it on first use), and
// @grpc/proto-loader, which grpc-js requires only for channelz, never used here.
import { build } from "esbuild"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")

await build({
  entryPoints: [path.join(root, "src/programs/bin.ts")],
  outfile: path.join(root, "dist/programs/bin.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["@clawkerd/native", "undici", "@grpc/proto-loader"],
  // The CommonJS packages inside (grpc-js) call require(); an ES module has none of its own.
  banner: {
    js:
      "import { createRequire as __clawkerdRequire } from \"node:module\"\nconst require = __clawkerdRequire(import.meta.url)"
  },
  sourcemap: true,
  logLevel: "warning"
})
