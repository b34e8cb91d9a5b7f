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

  it("ships the bins, the bundle with its code cache, the CP client's modules and the native sources", () => {
    expect(files).toEqual([
      "LICENSE",
      "README.md",
      "dist/devkit/commands.js",
      "dist/devkit/cpArgs.js",
      "dist/devkit/cpClient.js",
      "dist/devkit/describe.js",
      "dist/domain/hostPort.js",
      "dist/domain/passwd.js",
      "dist/domain/signals.js",
      "dist/gen/clawker/clawkerd/v1/clawkerd.js",
      "dist/platform/bootGuard.js",
      "dist/programs/bin.js",
      "dist/programs/clawkerd.cjs",
      "dist/programs/clawkerd.cjs.v8cache",
      "dist/programs/codeCache.js",
      "dist/programs/cp.js",
      "dist/programs/guard.js",
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
      "package.json"
    ])
    for (const bin of Object.values<string>(pkg.bin)) expect(files).toContain(bin)
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
