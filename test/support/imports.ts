import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The relative modules an ES module imports, side-effect imports (`import "./x.js"`) and loads on demand
 * (`import("./x.js")`) included.
 */
export const relativeImports = (file: string): Array<string> =>
  [...fs.readFileSync(file, "utf8").matchAll(/\b(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map(([, target]) =>
    path.join(path.dirname(file), target!)
  )

/** `entry` and every module it loads through relative imports, transitively, relative to `root`. */
export const importClosure = (root: string, entry: string): Array<string> => {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const next of relativeImports(path.join(root, file))) visit(path.relative(root, next))
  }
  visit(entry)
  return [...seen].sort()
}
