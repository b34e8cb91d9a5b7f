import type { IOType } from "node:child_process"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { describe, expect, it } from "vitest"
import { TESTER } from "../support/accounts.js"
import { isRoot } from "../support/pidns.js"

if (!isRoot) console.log("hardening.test.ts: skipped: it needs root (a second uid reads /proc)")

const INHERITED_FD = 30

/** Where the addon is loaded from: the same package the daemon loads. */
const nativePackage = createRequire(import.meta.url).resolve("@clawkerd/native")

/**
 * A Node process as TESTER, born with an inheritable fd 30 (as a careless parent would leave one),
 * that optionally runs the boot hardening, then lists what a child of its own inherits and waits.
 */
const startTarget = async (harden: boolean) => {
  const script = `
    const { addon } = require(${JSON.stringify(nativePackage)})
    if (${harden}) addon.hardenSelf()
    const fds = require("node:child_process").execFileSync("sh", ["-c", "ls /proc/$$/fd"]).toString()
    process.stdout.write(JSON.stringify(fds.split("\\n").filter(Boolean)) + "\\n")
    setInterval(() => {}, 1000)
  `
  // Node itself marks a few low inherited fds close-on-exec at startup, not a high one like this.
  const stdio: Array<IOType | number> = ["ignore", "pipe", "inherit", ...Array<IOType>(INHERITED_FD - 3).fill("ignore")]
  const devNull = fs.openSync("/dev/null", "r")
  const child = spawn(process.execPath, ["-e", script], {
    uid: TESTER.uid,
    gid: TESTER.gid,
    stdio: [...stdio, devNull]
  })
  fs.closeSync(devNull)
  const line = await new Promise<string>((resolve, reject) => {
    let text = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString()
      if (text.includes("\n")) resolve(text.split("\n")[0]!)
    })
    child.on("exit", (code) => reject(new Error(`target exited ${code}`)))
    // e.g. EACCES: the test account must be able to run this Node (not under a 0700 directory).
    child.on("error", (e) => reject(new Error(`${process.execPath} as uid ${TESTER.uid}: ${e.message}`)))
  })
  const readEnviron = spawnSync("cat", [`/proc/${child.pid}/environ`], { uid: TESTER.uid, gid: TESTER.gid })
  const limits = fs.readFileSync(`/proc/${child.pid}/limits`, "utf8")
  child.kill("SIGKILL")
  await new Promise((resolve) => child.once("exit", resolve))
  return {
    childFds: JSON.parse(line) as Array<string>,
    environReadableBySameUid: readEnviron.status === 0,
    coreSoftLimit: /^Max core file size\s+(\S+)/m.exec(limits)?.[1]
  }
}

describe.skipIf(!isRoot)("PID 1's boot hardening (addon.hardenSelf)", () => {
  it("without it: an inherited fd reaches children, the same uid reads the environment", async () => {
    const plain = await startTarget(false)
    expect(plain.childFds).toContain(String(INHERITED_FD))
    expect(plain.environReadableBySameUid).toBe(true)
  })

  it("with it: inherited fds are close-on-exec, the process is not dumpable, its soft core limit is 0", async () => {
    const hardened = await startTarget(true)
    expect(hardened.childFds).toEqual(["0", "1", "2"])
    // Not dumpable: /proc/<pid>/environ (like ptrace and /proc/<pid>/mem) is closed even to its own uid.
    expect(hardened.environReadableBySameUid).toBe(false)
    expect(hardened.coreSoftLimit).toBe("0")
  })
})
