import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { writeAccounts } from "../support/accounts.js"
import { bundleEntry } from "../support/bundle.js"
import { tempDir } from "../support/fixtures.js"
import { isRoot } from "../support/pidns.js"

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

describe.skipIf(!isRoot)("orphan drain outside a PID namespace of its own", () => {
  it("signals only clawkerd's own descendants, never another process of the machine", async () => {
    const bystander = spawn("sleep", ["1000"], { stdio: "ignore" })
    try {
      const harness = await bundleEntry("test/support/supervisorHarness.ts")
      const dir = await tempDir("clawkerd-drain-")
      fs.chmodSync(dir, 0o755)
      const accounts = await writeAccounts(dir)
      // The CMD leaves an orphan that ignores SIGTERM, then exits 0.
      const cmd = "(trap '' TERM; exec sleep 1001) & until grep -qs '(sleep)' /proc/$!/stat; do sleep 0.01; done"
      const harnessRun = spawn(process.execPath, [harness, "sh", "-c", cmd], {
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          PATH: "/usr/local/bin:/usr/bin:/bin",
          CLAWKER_AGENT: "drain-test",
          CLAWKER_USER: "tester",
          CLAWKERD_PASSWD_FILE: accounts.passwd,
          CLAWKERD_GROUP_FILE: accounts.group,
          CLAWKERD_READY_FILE: path.join(dir, "ready"),
          CLAWKERD_STOP_GRACE: "200ms"
        }
      })
      let stdout = ""
      harnessRun.stdout.on("data", (b) => (stdout += b))
      const code = await new Promise<number | null>((resolve) => harnessRun.on("close", resolve))
      const done = stdout.split("\n").filter((l) => l.includes("\"orphan_drain_done\"")).map((l) => JSON.parse(l))
      expect(code).toBe(0)
      expect(done).toMatchObject([{ terminated: 1, killed: 1, survivors: 0, gaveUp: false }])
      expect(alive(bystander.pid!)).toBe(true)
    } finally {
      bystander.kill("SIGKILL")
    }
  })
})
