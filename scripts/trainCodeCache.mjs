// A bundle's V8 code cache (src/programs/codeCache.ts) comes from a training run of the bundle: it boots with
// no configuration, stops at the configuration error (exit 2), and by then V8 has compiled every module's top
// level and the boot path's first functions, which the cache keeps. Written next to the bundle
// (cacheFileOf); `prelude` is module code run before it.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const loader = path.resolve(import.meta.dirname, "../dist/programs/codeCache.js")
// V8 refuses a cache made under other flags, so the training run starts as PID 1 starts.
const { NODE_FLAGS } = await import(path.resolve(import.meta.dirname, "../dist/programs/nodeFlags.js"))

export const trainCodeCache = async (bundle, prelude = "") => {
  const training = `
import * as fs from "node:fs"
import { cacheFileOf, runBundle } from ${JSON.stringify(loader)}
${prelude}
const bundle = ${JSON.stringify(bundle)}
fs.rmSync(cacheFileOf(bundle), { force: true })
const script = runBundle(bundle)
process.on("exit", () => fs.writeFileSync(cacheFileOf(bundle), script.createCachedData()))
`
  const trained = spawnSync(process.execPath, [...NODE_FLAGS, "--input-type=module", "-e", training], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    encoding: "utf8"
  })
  const { cacheFileOf } = await import(loader)
  if (trained.status !== 2 || !fs.existsSync(cacheFileOf(bundle))) {
    console.error(`the training run of ${bundle} should stop at its configuration error (exit 2)`)
    console.error(`it exited ${trained.status ?? trained.signal}: ${trained.stderr}`)
    process.exit(1)
  }
  return cacheFileOf(bundle)
}
