import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../../src/programs/cp/commands.js"
import { repoRoot } from "../support/daemon.js"
import { daemonsOfFile } from "../support/daemonsOfFile.js"
import { pidNamespaceUnavailable } from "../support/pidns.js"
import { waitFor } from "../support/wait.js"

/*
 * examples/sibling: a second daemon built only from clawkerd's public surface (`import … from "clawkerd"`,
 * the package's own exports map to dist/), run as PID 1 of a PID namespace: it supervises its CMD, serves
 * the CP Hello only over clawkerd's mTLS listener, and exits with the CMD's code or on SIGTERM after the stop.
 */

const unavailable = pidNamespaceUnavailable()
if (unavailable !== undefined) console.warn(`skipping the sibling daemon's tests: ${unavailable}`)
const daemons = daemonsOfFile(unavailable)
const sibling = [process.execPath, "--import", "tsx", path.join(repoRoot, "examples/sibling/main.ts")]

describe.skipIf(unavailable !== undefined)("a sibling daemon from the public surface", () => {
  it("serves Hello over the CP-only listener, refuses the rest, and exits with its CMD's code", async () => {
    const run = await daemons.start(["sh", "-c", "sleep 1; exit 7"], { program: sibling })
    const session = await run.session()
    const hello = await session.request(C.hello("h"))
    expect(hello.payload).toEqual({ $case: "helloAck", value: { initialized: false, cmdRunning: true } })
    const refused = await session.request(C.agentReady("r"))
    expect(refused.payload).toMatchObject({
      $case: "error",
      value: { code: ErrorCode.ERROR_CODE_INVALID_REQUEST, message: "this daemon serves Hello only" }
    })
    expect((await run.ns.exited).code).toBe(7)
    expect(run.events("sibling_exit")).toMatchObject([{ exit_code: 7 }])
    expect(run.events("spawn_started")).toHaveLength(1)
  }, 60_000)

  it("SIGTERM stops the CMD through the Supervisor: 143", async () => {
    const run = await daemons.start(["sleep", "1000"], { program: sibling })
    await waitFor(() => run.events("spawn_started").length === 1, 20_000, "the CMD started")
    await run.ns.signal("SIGTERM")
    expect((await run.ns.exited).code).toBe(143)
    expect(run.events("spawn_stop_sigterm")).toHaveLength(1)
  }, 60_000)
})
