import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import * as vm from "node:vm"

/*
 * The daemon ships as one CommonJS bundle (scripts/bundle.mjs) that this module compiles with V8's code
 * cache. Node 20 has no compile cache of its own (module.enableCompileCache came with Node 22), and
 * compiling the 1.5 MB bundle from source was a quarter of clawkerd's boot (bench/boot.ts). The cache is
 * written at build time, by the same Node that runs it; when V8 refuses it (another Node, other flags) the
 * bundle is compiled from source as usual, only slower.
 */

/** The bundle's file name, next to the loader in dist/programs. */
export const BUNDLE_FILE = "clawkerd.cjs"

export const cacheFileOf = (bundle: string): string => `${bundle}.v8cache`

const readCache = (file: string): Buffer | undefined => {
  try {
    return fs.readFileSync(file)
  } catch {
    return undefined
  }
}

/** `source` compiled as the function of a CommonJS module named `filename`, with V8's cache when given one. */
export const compileSource = (source: string, filename: string, cachedData: Buffer | undefined): vm.Script =>
  new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename, cachedData })

/** `bundle` compiled as a CommonJS module's function, with its code cache when there is one. */
export const compileBundle = (bundle: string): vm.Script =>
  // scripts/bundle.mjs has esbuild write ASCII only, so latin1 is exact and skips UTF-8 decoding.
  compileSource(fs.readFileSync(bundle, "latin1"), bundle, readCache(cacheFileOf(bundle)))

/** Runs a script of compileSource as `require` would run the module `filename`. */
export const runCompiled = (script: vm.Script, filename: string): void => {
  const run = script.runInThisContext() as (...args: ReadonlyArray<unknown>) => void
  const module = { exports: {} }
  run(module.exports, createRequire(filename), module, filename, path.dirname(filename))
}

/** Compiles `bundle` and runs it as `require` would. Returns the script, which the build asks for the cache. */
export const runBundle = (bundle: string): vm.Script => {
  const script = compileBundle(bundle)
  runCompiled(script, bundle)
  return script
}
