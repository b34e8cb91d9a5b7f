import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { DEFAULT_BOOTSTRAP_DIR, DEFAULT_READY_FILE } from "../../src/lib/constants.js"
import { NODE_FLAGS } from "../../src/programs/nodeFlags.js"
import { importClosure } from "../support/imports.js"

/*
 * The Dockerfile's instructions, checked statically: every path it copies exists, the instructions that make
 * clawkerd a correct PID 1 are there, and the runtime stage copies only what the daemon runs.
 * scripts/container-test.sh (npm run test:container) builds it with podman and runs it for real.
 */

const root = path.resolve(import.meta.dirname, "../..")
const text = fs.readFileSync(path.join(root, "Dockerfile"), "utf8")

interface Instruction {
  readonly op: string
  readonly args: string
}

const parse = (text: string): Array<Instruction> =>
  text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/)
      return { op: op!.toUpperCase(), args: rest.join(" ") }
    })
const instructions = parse(text)

const all = (op: string) => instructions.filter((i) => i.op === op)
const stages = () => {
  const out: Array<Array<Instruction>> = []
  for (const i of instructions) {
    if (i.op === "FROM") out.push([])
    out.at(-1)?.push(i)
  }
  return out
}

describe("Dockerfile", () => {
  it("builds on Node 24 LTS and runs on the same Debian release without npm", () => {
    expect(all("FROM").map((f) => f.args)).toEqual(["${NODE_IMAGE} AS builder", "${RUNTIME_IMAGE} AS runtime"])
    const arg = (name: string) => all("ARG").find((a) => a.args.startsWith(`${name}=`))?.args
    expect(arg("NODE_IMAGE")).toBe("NODE_IMAGE=node:24-bookworm-slim")
    expect(arg("RUNTIME_IMAGE")).toBe("RUNTIME_IMAGE=debian:bookworm-slim")
    const runtime = stages().at(-1)!
    expect(runtime.filter((i) => i.op === "COPY").map((c) => c.args)).toContain(
      "--from=builder /usr/local/bin/node /usr/local/bin/node"
    )
  })

  it("copies into the runtime only the entry point and what it loads, the bundle, its code cache, the native addon and shim, and undici", () => {
    const copied = stages().at(-1)!
      .filter((i) => i.op === "COPY")
      .flatMap((c) => c.args.split(/\s+/).filter((p) => !p.startsWith("--")).slice(0, -1))
    expect(copied.sort()).toEqual([
      "/opt/clawkerd/dist/platform/bootGuard.js",
      "/opt/clawkerd/dist/platform/signals.js",
      "/opt/clawkerd/dist/programs/bin.js",
      "/opt/clawkerd/dist/programs/clawkerd.cjs",
      "/opt/clawkerd/dist/programs/clawkerd.cjs.v8cache",
      "/opt/clawkerd/dist/programs/codeCache.js",
      "/opt/clawkerd/dist/programs/guard.js",
      "/opt/clawkerd/dist/programs/version.js",
      "/opt/clawkerd/native/build/Release/clawkerd-exec",
      "/opt/clawkerd/native/build/Release/clawkerd_native.node",
      "/opt/clawkerd/native/index.cjs",
      "/opt/clawkerd/native/package.json",
      "/opt/clawkerd/node_modules/undici",
      "/opt/clawkerd/package.json",
      "/usr/local/bin/node"
    ])
    // Every module the entry point loads before the bundle (a missing one: the container never boots).
    for (const file of importClosure(root, "dist/programs/bin.js")) expect(copied).toContain(`/opt/clawkerd/${file}`)
    // What the bundle leaves outside (scripts/bundle.mjs) and loads at run time.
    const bundler = fs.readFileSync(path.join(root, "scripts/bundle.mjs"), "utf8")
    expect(bundler).toContain(`external: ["@clawkerd/native", "undici", "@grpc/proto-loader"]`)
  })

  it("gives the user CMD no daemon-only environment", () => {
    expect(all("ENV")).toEqual([])
  })

  it("starts the user CMD in a working directory of the agent's (/workspace, as the platform's images), not clawkerd's files", () => {
    const runtime = stages().at(-1)!
    expect(runtime.filter((i) => i.op === "WORKDIR").at(-1)?.args).toBe("/workspace")
    expect(runtime.filter((i) => i.op === "RUN").map((r) => r.args).join("\n")).toContain(
      "install -d -m 0755 -o clawker -g clawker /workspace"
    )
  })

  it("copies only paths that exist in the repository", () => {
    const copies = all("COPY").filter((c) => !c.args.startsWith("--from="))
    expect(copies.length).toBeGreaterThan(0)
    for (const copy of copies) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith("--"))
      for (const source of parts.slice(0, -1)) {
        expect(fs.existsSync(path.join(root, source)), `COPY source ${source}`).toBe(true)
      }
    }
  })

  it("builds with the project's own scripts and the native edge", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    const runs = all("RUN").map((r) => r.args).join("\n")
    expect(runs).toContain("npm ci")
    expect(runs).toContain("npm run build")
    expect(pkg.scripts.build).toBeDefined()
    expect(pkg.dependencies["@clawkerd/native"]).toBe("file:native")
    expect(fs.existsSync(path.join(root, "native/binding.gyp"))).toBe(true)
  })

  it("links the clawkerd bin to the built entry point declared in package.json", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    const bin: string = pkg.bin.clawkerd
    expect(all("RUN").some((r) => r.args.includes(`/opt/clawkerd/${bin} /usr/local/bin/clawkerd`))).toBe(true)
    const source = bin.replace(/^dist\//, "src/").replace(/\.js$/, ".ts")
    expect(fs.existsSync(path.join(root, source))).toBe(true)
    expect(fs.readFileSync(path.join(root, source), "utf8").startsWith("#!/usr/bin/env node")).toBe(true)
  })

  it("runs clawkerd as root PID 1 with exec-form ENTRYPOINT, SIGTERM, port 7700 and the ready-file HEALTHCHECK", () => {
    const runtime = stages().at(-1)!
    const op = (name: string) => runtime.filter((i) => i.op === name)
    // PID 1's V8 flags are set where node starts, as the single binary's execArgv sets them.
    expect(op("ENTRYPOINT").map((e) => JSON.parse(e.args))).toEqual([[
      "node",
      ...NODE_FLAGS,
      "/usr/local/bin/clawkerd"
    ]])
    expect(op("STOPSIGNAL").map((s) => s.args)).toEqual(["SIGTERM"])
    expect(op("EXPOSE").map((s) => s.args)).toEqual(["7700"])
    expect(op("USER").map((s) => s.args)).toEqual(["root"])
    const health = op("HEALTHCHECK").map((h) => h.args)
    expect(health).toHaveLength(1)
    expect(health[0]).toContain(DEFAULT_READY_FILE)
    // Healthy only when the ready file holds PID 1's own start time (field 22 of /proc/1/stat).
    const [shell, flag, script] = JSON.parse(health[0]!.slice(health[0]!.indexOf("CMD ") + 4)) as Array<string>
    expect([shell, flag]).toEqual(["sh", "-c"])
    expect(script).toBe(
      `test "$(cat ${DEFAULT_READY_FILE} 2>/dev/null)" = "$(sed 's/.*) //' /proc/1/stat | cut -d' ' -f20)"`
    )
  })

  it("creates the clawker user and the spec's directories with their modes", () => {
    const runs = stages().at(-1)!.filter((i) => i.op === "RUN").map((r) => r.args).join("\n")
    expect(runs).toMatch(/useradd .*--home-dir \/home\/clawker .*clawker/)
    expect(runs).toContain(`install -d -m 0700 -o root -g root /run/clawker ${DEFAULT_BOOTSTRAP_DIR}`)
    expect(runs).toMatch(/install -d -m 0700 -o root -g root \/var\/lib\/clawker/)
    expect(runs).toMatch(/install -d -m 0700 -o root -g root \/var\/log\/clawker/)
    // /var/run is a link to /run: a second install of the ready file's directory would re-mode /run/clawker.
    expect(DEFAULT_READY_FILE.startsWith("/var/run/clawker/")).toBe(true)
    expect(runs).not.toMatch(/\/var\/run\/clawker/)
  })
})

describe("scripts/agent-image.Dockerfile, an agent image with the single binary", () => {
  const agent = parse(fs.readFileSync(path.join(root, "scripts/agent-image.Dockerfile"), "utf8"))
  const args = (op: string) => agent.filter((i) => i.op === op).map((i) => i.args)

  it("installs clawkerd with README's two lines and nothing else of it", () => {
    expect(args("COPY")).toEqual(["--chown=root:root --chmod=755 clawkerd /usr/local/bin/clawkerd"])
    expect(args("ENTRYPOINT").map((e) => JSON.parse(e))).toEqual([["/usr/local/bin/clawkerd"]])
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
    expect(readme).toContain(
      "COPY --chown=root:root --chmod=755 clawkerd /usr/local/bin/clawkerd\nENTRYPOINT [\"/usr/local/bin/clawkerd\"]"
    )
  })

  it("has the project Dockerfile's HEALTHCHECK, unchanged", () => {
    expect(args("HEALTHCHECK")).toEqual(all("HEALTHCHECK").map((h) => h.args))
  })
})
