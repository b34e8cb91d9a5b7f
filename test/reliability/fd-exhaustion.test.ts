import * as net from "node:net"
import { describe, expect, it } from "vitest"
import * as C from "../../src/devkit/commands.js"
import { outputOf } from "../../src/devkit/cpClient.js"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { waitFor } from "../support/wait.js"
import { daemonTestsUnavailable, daemonUnderTest } from "./support/daemonTarget.js"
import { fdCount } from "./support/procStats.js"

/*
 * A flood of idle connections against a daemon with a small fd limit (`ulimit -n 64`): the flood
 * takes every fd it can. Connections past the limit are shed (libuv accepts and closes them: no
 * log line is possible there), nothing crashes, a CP Session opened before keeps working (a
 * ShellCommand that needs new pipes fails with SPAWN_FAILED and says why), and once the flood goes
 * away everything works again.
 */

const FD_LIMIT = 64
const FLOOD = 200

const unavailable = daemonTestsUnavailable("the fd exhaustion test")
const daemon = daemonUnderTest({ prelude: `ulimit -n ${FD_LIMIT}` })

describe.skipIf(unavailable !== undefined)("fd exhaustion", () => {
  it(`${FLOOD} idle connections against ${FD_LIMIT} fds: shed, survived, recovered`, async () => {
    const { pid, target } = daemon()
    const s = await target.session()
    expect((await s.request(C.hello("before"))).payload?.$case).toBe("helloAck")

    let shed = 0
    const flood = Array.from({ length: FLOOD }, () => {
      const socket = net.connect(target.port, "127.0.0.1")
      socket.on("error", () => undefined)
      socket.on("close", () => shed++)
      socket.resume()
      return socket
    })
    // Every fd the daemon may have is taken; what did not fit was closed on the flood's side.
    await waitFor(() => fdCount(pid) >= FD_LIMIT - 1 && shed > 0, 10_000, "the daemon out of fds")
    const shedAtLimit = shed

    expect((await s.request(C.hello("during"))).payload?.$case).toBe("helloAck")
    const failed = await s.request(C.shell("needs-pipes", [C.stage(["echo", "x"]), C.stage(["cat"])]))
    expect(failed.payload).toMatchObject({
      $case: "error",
      value: { code: ErrorCode.ERROR_CODE_SPAWN_FAILED, message: expect.stringMatching(/pipe: .*too many open files/i) }
    })

    for (const socket of flood) socket.destroy()
    await waitFor(() => fdCount(pid) < FD_LIMIT / 2, 20_000, "the flood's fds released")
    s.send(C.shell("after", [C.stage(["echo", "x"]), C.stage(["cat"])]))
    expect(outputOf(await s.collectUntilTerminal("after")).toString()).toBe("x\n")
    const fresh = await target.session()
    expect((await fresh.request(C.hello("fresh"))).payload?.$case).toBe("helloAck")
    fresh.close()
    s.close()
    await Promise.all([fresh.ended, s.ended])
    console.log(`fd exhaustion: ${shedAtLimit} of ${FLOOD} connections shed at the limit of ${FD_LIMIT} fds`)
  }, 60_000)
})
