import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../../src/programs/cp/commands.js"
import { outputOf } from "../../src/programs/cp/cpClient.js"
import { TESTER } from "../support/accounts.js"
import { daemonsOfFile } from "../support/daemonsOfFile.js"
import { tempDir } from "../support/fixtures.js"
import { pidNamespaceUnavailable } from "../support/pidns.js"

/*
 * What crosses from PID 1 into its children: started the way a careless parent would start it, with
 * inheritable fds (30, 31: Node itself marks only a few low ones close-on-exec) and a core limit.
 */

const unavailable = pidNamespaceUnavailable()
if (unavailable !== undefined) console.warn(`skipping PID 1 hygiene tests: ${unavailable}`)
const daemons = daemonsOfFile(unavailable)

/** dash cannot redirect fds above 9, bash can. The core limit: 2048 blocks of 512 bytes, soft and hard. */
const PRELUDE = `ulimit -c 2048\nexec bash -c 'exec 30</dev/null 31>/dev/null; exec "$@"' bash "$@"`

const coreLimitOf = (pid: number) =>
  /^Max core file size\s+(\S+)\s+(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, "utf8"))?.slice(1)

describe.skipIf(unavailable !== undefined)("PID 1: nothing crosses into its children", () => {
  it("inherited fds reach neither a stage nor the user CMD; the core limit is 0 for PID 1 alone", async () => {
    // The CMD writes into its home below the state dir, which the tester must be able to traverse.
    const stateDir = await tempDir("clawkerd-e2e-")
    fs.chmodSync(stateDir, 0o711)
    const d = await daemons.start(
      // `exec >` so that dash keeps no saved copy of fd 1 while ls looks.
      ["sh", "-c", `exec > "$HOME/cmd-out"; ls /proc/$$/fd; ulimit -c`],
      { prelude: PRELUDE, stateDir }
    )
    const s = await d.session()
    s.send(C.sh("stage-fds", "ls /proc/$$/fd; ulimit -c"))
    expect(outputOf(await s.collectUntilTerminal("stage-fds")).toString()).toBe("0\n1\n2\n2048\n")
    s.send(C.shell("stage-groups", [C.stage(["id", "-G"], { uid: TESTER.uid, gid: TESTER.gid })]))
    expect(outputOf(await s.collectUntilTerminal("stage-groups")).toString()).toBe(`${TESTER.gid}\n`)

    const pid1 = await d.ns.pid()
    expect(coreLimitOf(pid1)).toEqual(["0", String(2048 * 512)])

    // The CMD ends at once, and the daemon with it: its exit, not the reply, says it ran.
    s.send(C.agentReady("ready"))
    expect((await d.ns.exited).code).toBe(0)
    const home = path.join(d.stateDir, "home")
    expect(fs.readFileSync(path.join(home, "cmd-out"), "utf8")).toBe("0\n1\n2\n2048\n")
    s.close()
  })

  it("a uid-only stage is refused, naming the field; nothing runs", async () => {
    const d = await daemons.start(["sh", "-c", "exit 0"])
    const s = await d.session()
    expect((await s.request(C.shell("half", [C.stage(["id"], { uid: TESTER.uid })]))).payload).toEqual({
      $case: "error",
      value: {
        code: ErrorCode.ERROR_CODE_INVALID_REQUEST,
        message: `shell: stage[0] gid must be non-zero when uid is (uid ${TESTER.uid}); set both or neither`
      }
    })
    expect(d.events("shell_command_started")).toEqual([])
    s.close()
  })
})
