import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { runBin } from "../support/daemon.js"
import { bootstrapFixture, tempDir } from "../support/fixtures.js"

const logEvents = (dir: string) =>
  fs.readFileSync(path.join(dir, "clawkerd.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l))

/** The daemon as root against the bootstrap dir of `fx`, logging next to it. */
const runWithBootstrap = (fx: { readonly root: string; readonly dir: string }) =>
  runBin({ CLAWKER_AGENT: "x", CLAWKER_USER: "root", CLAWKERD_LOG_DIR: fx.root, CLAWKERD_BOOTSTRAP_DIR: fx.dir })

describe("clawkerd entry point: configuration errors exit 2 with one clear line", () => {
  it("missing CLAWKER_AGENT", async () => {
    const logDir = await tempDir()
    const r = await runBin({ CLAWKERD_LOG_DIR: logDir })
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toEqual([
      "clawkerd: configuration error: CLAWKER_AGENT: is not set (expected the agent name, set by the clawker CLI)"
    ])
    expect(logEvents(logDir).map((e) => e.event)).toContain("config_error")
  })

  it("every mistake in one line, not only the first", async () => {
    const logDir = await tempDir()
    const r = await runBin({ CLAWKERD_LOG_DIR: logDir, CLAWKERD_LOG_LEVEL: "loud", CLAWKERD_STOP_GRACE: "-1" })
    expect(r.code).toBe(2)
    const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("clawkerd: "))
    expect(lines).toHaveLength(1)
    const line = lines[0]
    for (const variable of ["CLAWKERD_LOG_LEVEL", "CLAWKER_AGENT", "CLAWKERD_STOP_GRACE"]) {
      expect(line).toContain(`${variable}: `)
    }
  })

  // (--inspect-brk cannot be refused this way: Node waits for a debugger before any JavaScript runs.)
  it.each(["--inspect=127.0.0.1:0", "--max-old-space-size=256 --inspect-port=0 --inspect"])(
    "NODE_OPTIONS=%s is refused: exit 2 naming the flag, before anything else runs",
    async (options) => {
      const logDir = await tempDir()
      const r = await runBin({ CLAWKERD_LOG_DIR: logDir, CLAWKER_AGENT: "x", NODE_OPTIONS: options })
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(
        /clawkerd: configuration error: --inspect\S* \(in NODE_OPTIONS or node's flags\) would open Node's inspector/
      )
      // refused before the daemon's modules ran: nothing logged
      expect(fs.readdirSync(logDir)).toEqual([])
    }
  )

  it("missing bootstrap directory", async () => {
    const logDir = await tempDir()
    const missing = path.join(logDir, "no-bootstrap")
    const r = await runBin({
      CLAWKER_AGENT: "x",
      CLAWKER_USER: "root",
      CLAWKERD_LOG_DIR: logDir,
      CLAWKERD_BOOTSTRAP_DIR: missing
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`clawkerd: configuration error: bootstrap directory (${missing}): does not exist`)
    const failure = logEvents(logDir).find((e) => e.event === "bootstrap_read_failed")
    expect(failure).toMatchObject({ level: "error", agent: "x" })
  })

  it("a key.pem readable by others is exit 2 naming the file and its mode", async () => {
    const fx = await bootstrapFixture()
    fs.chmodSync(path.join(fx.dir, "key.pem"), 0o644)
    const r = await runWithBootstrap(fx)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`bootstrap key.pem (${path.join(fx.dir, "key.pem")}): has mode 0644`)
  })

  it("mismatched key names the file", async () => {
    const fx = await bootstrapFixture()
    const other = await bootstrapFixture()
    fs.chmodSync(path.join(fx.dir, "key.pem"), 0o600)
    fs.writeFileSync(path.join(fx.dir, "key.pem"), other.deployment.agent.keyPem)
    const r = await runWithBootstrap(fx)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/bootstrap key\.pem .*does not match the certificate in cert\.pem/)
    expect(r.stderr).not.toContain("PRIVATE KEY")
  })

  it("an unknown CLAWKER_USER is a configuration error", async () => {
    const r = await runBin({ CLAWKER_AGENT: "x", CLAWKER_USER: "no-such-user-xyz", CLAWKERD_LOG_DIR: await tempDir() })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("clawkerd: configuration error: CLAWKER_USER \"no-such-user-xyz\"")
  })

  it("an invalid override is named with what was expected", async () => {
    const r = await runBin({ CLAWKER_AGENT: "x", CLAWKERD_LOG_DIR: await tempDir(), CLAWKERD_LISTEN: "7700" })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("CLAWKERD_LISTEN: \"7700\" has no \":port\" (expected host:port)")
  })

  it("a bad log directory setting is still reported, on stderr", async () => {
    const r = await runBin({ CLAWKER_AGENT: "x", CLAWKERD_LOG_DIR: "relative" })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("clawkerd: configuration error: CLAWKERD_LOG_DIR: \"relative\" is not absolute")
    expect(r.stderr).toContain("\"event\":\"config_error\"")
  })
})
