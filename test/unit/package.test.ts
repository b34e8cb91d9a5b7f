import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { assertBuilt, repoRoot } from "../support/daemon.js"
import { relativeImports } from "../support/imports.js"

/* What `npm pack` ships: what a user installs (the two bins and what they load), nothing else. */

const packed = (): Array<string> => {
  assertBuilt()
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"]
  })
  // npm 11 prints an array of packages, npm 12 an object keyed by package name.
  const report = JSON.parse(out) as Record<string, { files: Array<{ path: string }> }>
  return Object.values(report)[0]!.files.map((f) => f.path).sort()
}

describe("the npm package", () => {
  const files = packed()
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"))

  /** The library surface (exports "."): the entry, and every module and declaration of these folders. */
  const LIBRARY_DIRS = ["services", "layers", "wire", "lib", "platform", "gen"]
  const walk = (dir: string): Array<string> =>
    fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]
    )
  const library = LIBRARY_DIRS.flatMap((d) => walk(path.join("dist", d)))
    .filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"))

  it("ships the bins, the bundle with its code cache, the CP client's modules, the library and the native sources", () => {
    const expected = new Set([
      "LICENSE",
      "README.md",
      "dist/index.d.ts",
      "dist/index.js",
      "dist/programs/bin.js",
      "dist/programs/clawkerd.cjs",
      "dist/programs/clawkerd.cjs.v8cache",
      "dist/programs/codeCache.js",
      "dist/programs/cp.js",
      "dist/programs/cp/commands.js",
      "dist/programs/cp/cpArgs.js",
      "dist/programs/cp/cpClient.js",
      "dist/programs/cp/describe.js",
      "dist/programs/guard.js",
      "dist/programs/main.d.ts",
      "dist/programs/main.js",
      "dist/programs/version.d.ts",
      "dist/programs/version.js",
      "native/binding.gyp",
      "native/index.cjs",
      "native/package.json",
      "native/rebuild.cjs",
      "native/src/addon.c",
      "native/src/cloexec.h",
      "native/src/exec_shim.c",
      "native/src/hardening.c",
      "native/src/hardening.h",
      "package.json",
      ...library
    ])
    expect(files).toEqual([...expected].sort())
    expect(files.filter((f) => f.endsWith(".map") || f.startsWith("src/") || f.startsWith("test/"))).toEqual([])
    for (const bin of Object.values<string>(pkg.bin)) expect(files).toContain(bin)
  })

  it("exports the library: its entry and the services, layers and wire subpaths, each with types, all shipped", () => {
    const subpaths = {
      ".": "index",
      "./services": "services/index",
      "./layers": "layers/index",
      "./wire": "wire/index"
    }
    for (const [subpath, module] of Object.entries(subpaths)) {
      expect(pkg.exports[subpath]).toEqual({ types: `./dist/${module}.d.ts`, default: `./dist/${module}.js` })
      expect(files).toEqual(expect.arrayContaining([`dist/${module}.js`, `dist/${module}.d.ts`]))
    }
  })

  it("resolves by its own name through the exports map: clawkerd/layers has the named stacks", () => {
    const script =
      "const m = await import('clawkerd/layers'); console.log(Object.keys(m).filter((k) => k.endsWith('Stack')).join())"
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: repoRoot,
      encoding: "utf8"
    })
    expect(out.trim()).toBe("ConsoleStack,InitStack,SessionStack")
  })

  it("every relative import of a shipped module is shipped too", () => {
    for (const file of files.filter((f) => f.endsWith(".js"))) {
      for (const target of relativeImports(path.join(repoRoot, file))) {
        expect(files, `${file} imports ${target}`).toContain(path.relative(repoRoot, target))
      }
    }
  })

  it("has the LICENSE its package.json names, and is for Linux", () => {
    expect(pkg.license).toBe("Apache-2.0")
    expect(fs.readFileSync(path.join(repoRoot, "LICENSE"), "utf8")).toContain(
      "Apache License\n                           Version 2.0"
    )
    expect(pkg.os).toEqual(["linux"])
  })

  it("takes Effect from whoever composes its layers, within one major, while its own build pins the exact version", () => {
    const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, "package-lock.json"), "utf8"))
    for (const name of ["effect", "@effect/platform-node"]) {
      expect(pkg.peerDependencies[name]).toBe("^4.1.0")
      expect(pkg.dependencies[name]).toBeUndefined()
      expect(pkg.devDependencies[name]).toMatch(/^4\.\d+\.\d+$/)
      expect(lock.packages[`node_modules/${name}`].version).toBe(pkg.devDependencies[name])
    }
  })
})
