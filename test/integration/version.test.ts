import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { repoRoot, runBin } from "../support/daemon.js"
import { tempDir } from "../support/fixtures.js"

const version: string = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")).version

describe("the package version", () => {
  it("clawkerd --version prints it and exits 0 without any configuration", async () => {
    const r = await runBin({}, ["--version"])
    expect(r).toMatchObject({ code: 0, stdout: `clawkerd ${version} (node ${process.version})\n`, stderr: "" })
  })

  it("clawkerd-cp --version prints it and exits 0 without any flags", () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, "dist/programs/cp.js"), "--version"], {
      encoding: "utf8"
    })
    expect(r).toMatchObject({ status: 0, stdout: `clawkerd-cp ${version}\n`, stderr: "" })
  })

  it("is in the boot log event", async () => {
    const logDir = await tempDir()
    const r = await runBin({
      CLAWKER_AGENT: "x",
      CLAWKER_USER: "root",
      CLAWKERD_LOG_DIR: logDir,
      CLAWKERD_BOOTSTRAP_DIR: path.join(logDir, "no-bootstrap")
    })
    expect(r.code).toBe(2)
    const events = fs.readFileSync(path.join(logDir, "clawkerd.log"), "utf8").trim().split("\n").map((l) =>
      JSON.parse(l)
    )
    expect(events.find((e) => e.event === "boot")).toMatchObject({ version })
  })
})
