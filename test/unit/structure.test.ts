import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { FOLDER_ROWS, forbiddenFrom } from "../../scripts/folderOrder.mjs"
import { repoRoot } from "../support/daemon.js"
import { relativeImports } from "../support/imports.js"

/*
 * Imports flow one way through src/ (scripts/folderOrder.mjs): programs -> layers -> services -> wire,
 * platform -> lib -> gen, and nothing in src/ reaches outside it. eslint checks the same while editing;
 * this reads every import of every source module, so a backwards import fails the suite too.
 */

const src = path.join(repoRoot, "src")

const sources = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []
  )

/** Each module of src/ (relative to src/, `.ts`) and the modules it imports (same form, or `../…` outside src/). */
const importGraph = (): Map<string, Array<string>> =>
  new Map(
    sources(src).map((file) => [
      path.relative(src, file),
      relativeImports(file).map((target) => path.relative(src, target).replace(/\.js$/, ".ts"))
    ])
  )

/** The top folder of a module of src/; "" for src/index.ts. */
const folderOf = (module: string): string => (module.includes(path.sep) ? module.split(path.sep)[0]! : "")

/** Every import against the folder order, as "importer -> imported". */
const backwardsImports = (graph: Map<string, ReadonlyArray<string>>): Array<string> =>
  [...graph].flatMap(([module, targets]) =>
    targets.filter((target) =>
      target.startsWith("..") || (folderOf(module) !== "" && forbiddenFrom(folderOf(module)).includes(folderOf(target)))
    ).map((target) => `${module} -> ${target}`)
  )

/** One import cycle as the modules along it, or undefined when there is none. */
const cycleIn = (graph: Map<string, ReadonlyArray<string>>): Array<string> | undefined => {
  const done = new Set<string>()
  const path: Array<string> = []
  const visit = (module: string): Array<string> | undefined => {
    const at = path.indexOf(module)
    if (at >= 0) return [...path.slice(at), module]
    if (done.has(module)) return undefined
    path.push(module)
    for (const target of graph.get(module) ?? []) {
      const cycle = visit(target)
      if (cycle !== undefined) return cycle
    }
    path.pop()
    done.add(module)
    return undefined
  }
  for (const module of graph.keys()) {
    const cycle = visit(module)
    if (cycle !== undefined) return cycle
  }
  return undefined
}

describe("the folder order of src/", () => {
  const graph = importGraph()

  it("has every folder of src/ in the order, and nothing else at the top but the entry", () => {
    const folders = fs.readdirSync(src, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)
    expect(folders.sort()).toEqual(FOLDER_ROWS.flat().sort())
    expect(fs.readdirSync(src).filter((name) => !fs.statSync(path.join(src, name)).isDirectory())).toEqual(["index.ts"])
  })

  it("no module imports a folder of its own row or above, or anything outside src/", () => {
    expect(graph.size).toBeGreaterThan(100)
    expect(backwardsImports(graph)).toEqual([])
  })

  it("grpc-js stays at the edges: the listener adapts its calls to a transport-neutral Session", () => {
    const seeingGrpc = sources(src).filter((file) =>
      !file.includes(`${path.sep}gen${path.sep}`) && fs.readFileSync(file, "utf8").includes("from \"@grpc/grpc-js\"")
    ).map((file) => path.relative(src, file).split(path.sep).slice(0, 2).join("/"))
    expect([...new Set(seeingGrpc)].sort()).toEqual([
      "layers/listener",
      "layers/logging",
      "layers/register",
      "programs/cp"
    ])
  })

  it("has no import cycle", () => {
    expect(cycleIn(graph)).toBeUndefined()
  })

  it("the check sees a backwards import, one across a row, one out of src/, and a cycle", () => {
    const bad = new Map([
      [path.join("lib", "log.ts"), [path.join("services", "Reaper.ts")]],
      [path.join("wire", "responses.ts"), [path.join("platform", "native.ts")]],
      [path.join("programs", "cp.ts"), [path.join("..", "devkit", "cpClient.ts"), path.join("layers", "x.ts")]],
      [path.join("layers", "x.ts"), [path.join("layers", "y.ts")]],
      [path.join("layers", "y.ts"), [path.join("layers", "x.ts")]]
    ])
    expect(backwardsImports(bad)).toEqual([
      `${path.join("lib", "log.ts")} -> ${path.join("services", "Reaper.ts")}`,
      `${path.join("wire", "responses.ts")} -> ${path.join("platform", "native.ts")}`,
      `${path.join("programs", "cp.ts")} -> ${path.join("..", "devkit", "cpClient.ts")}`
    ])
    expect(cycleIn(bad)).toEqual([
      path.join("layers", "x.ts"),
      path.join("layers", "y.ts"),
      path.join("layers", "x.ts")
    ])
  })
})
