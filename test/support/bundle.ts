import { build } from "esbuild"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { repoRoot } from "./daemon.js"

const built = new Map<string, Promise<string>>()

/**
 * A TypeScript entry bundled to one ESM file that plain `node` runs. Not `node --import tsx`:
 * tsx keeps an esbuild child process in the program, which a PID 1 test would see as an orphan.
 * Packages stay external and the file lives under node_modules, so `@clawkerd/native` and the
 * other dependencies resolve as they do for the real program. Named by its content and renamed
 * into place, so parallel workers share it and never read a half-written file.
 */
export const bundleEntry = (entry: string): Promise<string> => {
  const cached = built.get(entry)
  if (cached !== undefined) return cached
  const dir = path.join(repoRoot, "node_modules/.cache/clawkerd-tests")
  const result = build({
    entryPoints: [path.resolve(repoRoot, entry)],
    outfile: path.join(dir, "bundle.mjs"),
    write: false,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "error"
  }).then(({ outputFiles: [output] }) => {
    if (output === undefined) throw new Error(`esbuild produced nothing for ${entry}`)
    const hash = createHash("sha256").update(output.contents).digest("hex").slice(0, 16)
    const file = path.join(dir, `${path.basename(entry, ".ts")}-${hash}.mjs`)
    if (!fs.existsSync(file)) {
      fs.mkdirSync(dir, { recursive: true })
      const partial = `${file}.${process.pid}.tmp`
      fs.writeFileSync(partial, output.contents)
      fs.renameSync(partial, file)
    }
    return file
  })
  built.set(entry, result)
  return result
}
