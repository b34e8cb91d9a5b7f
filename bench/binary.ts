import * as fs from "node:fs"
import * as path from "node:path"
import { repoRoot } from "../test/support/daemon.js"
import { cpCredentials } from "../test/support/daemonInNamespace.js"
import { firstAcceptance } from "./boot.js"
import type { Bench } from "./harness.js"
import { measure, median, memoryOf, sleep } from "./harness.js"
import { deployment, endNamespace, freePort, startDaemon } from "./rigs.js"

/** dist/clawkerd, built by `npm run build:binary` (npm run bench builds it). */
const BINARY = path.join(repoRoot, "dist/clawkerd")
/** Left to both daemons before the RSS reading, as in bench/memory.ts. */
const SETTLE_MS = 2_000

/** Bytes under `file`, a directory counted whole. */
const sizeOf = (file: string): number => {
  const stat = fs.statSync(file)
  if (!stat.isDirectory()) return stat.size
  return fs.readdirSync(file).reduce((sum, entry) => sum + sizeOf(path.join(file, entry)), 0)
}

/** What the project's Dockerfile copies into its runtime for clawkerd (the node binary included). */
const bundleFiles = (): ReadonlyArray<string> => [
  process.execPath,
  ...["bin.js", "guard.js", "codeCache.js", "version.js", "clawkerd.cjs", "clawkerd.cjs.v8cache"].map((f) =>
    path.join(repoRoot, "dist/programs", f)
  ),
  path.join(repoRoot, "dist/platform/bootGuard.js"),
  path.join(repoRoot, "dist/platform/signals.js"),
  path.join(repoRoot, "node_modules/undici"),
  path.join(repoRoot, "native/index.cjs"),
  path.join(repoRoot, "native/package.json"),
  path.join(repoRoot, "native/build/Release/clawkerd_native.node"),
  path.join(repoRoot, "native/build/Release/clawkerd-exec")
]

export const binary: Bench = {
  name: "binary",
  title: "Single binary (dist/clawkerd) against node + bundle: size, boot, idle RSS",
  unavailable: () => (fs.existsSync(BINARY) ? undefined : `${BINARY} is missing: npm run build:binary`),
  run: async (ctx) => {
    const rounds = ctx.count(20, 5)
    const fixture = await deployment(ctx)
    const credentials = cpCredentials(fixture.deployment)
    const boots = { bundle: [] as Array<number>, binary: [] as Array<number> }
    const rss = { bundle: [] as Array<number>, binary: [] as Array<number> }
    const anon = { bundle: [] as Array<number>, binary: [] as Array<number> }
    // Interleaved, so a burst of load on the shared machine hits both sides alike; RSS read in the first rounds.
    for (let i = 0; i < rounds; i++) {
      // Each goes first every other round: the one after may find the machine busy with the other's exit.
      for (const side of i % 2 === 0 ? (["bundle", "binary"] as const) : (["binary", "bundle"] as const)) {
        const port = await freePort()
        const run = await startDaemon(ctx, fixture, {
          listen: `127.0.0.1:${port}`,
          ...(side === "binary" ? { binary: BINARY } : {})
        })
        boots[side].push((await firstAcceptance(run.ns, port, credentials)) - run.ns.startedAt)
        if (i < 4) {
          await sleep(SETTLE_MS)
          const memory = memoryOf(await run.ns.pid())
          rss[side].push(memory.rss)
          anon[side].push(memory.anon)
        }
        run.close()
        await endNamespace(run.ns)
      }
    }
    for (const side of ["bundle", "binary"] as const) {
      ctx.log(`${side} boots (ms): ${boots[side].map((t) => t.toFixed(0)).join(" ")}`)
      ctx.log(`${side} RSS after boot (MiB): ${rss[side].map((m) => m.toFixed(1)).join(" ")}`)
      ctx.log(`${side} anonymous RSS after boot (MiB): ${anon[side].map((m) => m.toFixed(1)).join(" ")}`)
    }
    const MB = 1e6
    const installed = bundleFiles().reduce((sum, file) => sum + sizeOf(file), 0) / MB
    return {
      counts: { rounds, rss_rounds: rss.binary.length },
      measures: [
        measure("file size", "MB", sizeOf(BINARY) / MB, {
          baseline: { name: "node + bundle files", value: installed }
        }),
        measure("median boot", "ms", median(boots.binary), {
          baseline: { name: "node + bundle", value: median(boots.bundle) },
          target: { on: "ratio", op: "<=", limit: 1 }
        }),
        measure("median RSS after boot", "MiB", median(rss.binary), {
          baseline: { name: "node + bundle", value: median(rss.bundle) }
        }),
        measure("of it anonymous (heap, stacks)", "MiB", median(anon.binary), {
          baseline: { name: "node + bundle", value: median(anon.bundle) },
          target: { on: "ratio", op: "<=", limit: 1.1 }
        })
      ],
      notes: [
        "Both as PID 1 of a fresh PID namespace, timed from spawn until the listener completes an mTLS handshake",
        `(bench/boot.ts); RSS read ${SETTLE_MS} ms after boot. Size: the binary against what the Dockerfile copies`,
        "into its runtime for clawkerd (node, the bundle and its code cache, undici, the addon and the shim).",
        "The rest of RSS is clean pages of the executable file, which the page cache backs and shares; they",
        "differ with what of the file is cached (a freshly built binary is all in the cache)."
      ]
    }
  }
}
