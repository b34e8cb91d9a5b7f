import * as net from "node:net"
import { describe, expect, it } from "vitest"
import * as C from "../../src/programs/cp/commands.js"
import { outputOf } from "../../src/programs/cp/cpClient.js"
import { waitFor } from "../support/wait.js"
import { daemonTestsUnavailable, daemonUnderTest } from "./support/daemonTarget.js"
import { fdCount } from "./support/procStats.js"

/*
 * A flood of idle connections against a daemon with a small fd limit (`ulimit -n 64`). The listener
 * keeps its handshakes in flight within the file limit minus a reserve (here: one at a time, the
 * oldest shed for each newcomer), so the flood never takes the daemon's last fds: a CP Session
 * opened before keeps working, a ShellCommand that needs new pipes runs, and the CP can open a new
 * Session during the flood. (Before, the flood took every fd: pipes failed with SPAWN_FAILED and
 * new connections were closed unseen by libuv.)
 */

const FD_LIMIT = 64
const FLOOD = 200

const unavailable = daemonTestsUnavailable("the fd exhaustion test")
const daemon = daemonUnderTest({ prelude: `ulimit -n ${FD_LIMIT}` })

describe.skipIf(unavailable !== undefined)("fd exhaustion", () => {
  it(`${FLOOD} idle connections against ${FD_LIMIT} fds: shed by the listener, the CP keeps its fds`, async () => {
    const { pid, target } = daemon()
    const s = await target.session()
    expect((await s.request(C.hello("before"))).payload?.$case).toBe("helloAck")
    const baseline = fdCount(pid)

    let shed = 0
    const flood = Array.from({ length: FLOOD }, () => {
      const socket = net.connect(target.port, "127.0.0.1")
      socket.on("error", () => undefined)
      socket.on("close", () => shed++)
      socket.resume()
      return socket
    })
    // All but the newest of the flood are shed; the daemon never came near its limit.
    await waitFor(() => shed >= FLOOD - 1, 20_000, "the flood shed")
    const during = fdCount(pid)
    expect(during).toBeLessThan(FD_LIMIT - 16)

    expect((await s.request(C.hello("during"))).payload?.$case).toBe("helloAck")
    s.send(C.shell("needs-pipes", [C.stage(["echo", "x"]), C.stage(["cat"])]))
    expect(outputOf(await s.collectUntilTerminal("needs-pipes")).toString()).toBe("x\n")
    const fresh = await target.session()
    expect((await fresh.request(C.hello("fresh"))).payload?.$case).toBe("helloAck")
    fresh.close()
    s.close()
    await Promise.all([fresh.ended, s.ended])
    for (const socket of flood) socket.destroy()
    await waitFor(() => fdCount(pid) <= baseline, 20_000, "the flood's fds released")
    expect(target.events("clawkerd_listener_started")[0]).toMatchObject({ max_pending_handshakes: 1 })
    console.log(`fd exhaustion: ${shed} of ${FLOOD} connections shed; daemon fds ${baseline} before, ${during} during`)
  }, 60_000)
})
