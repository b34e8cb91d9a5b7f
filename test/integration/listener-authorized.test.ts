import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as C from "../../src/programs/cp/commands.js"
import type { CpSession } from "../../src/programs/cp/cpClient.js"
import type { ListenerRig } from "../support/listenerRig.js"
import { startListenerRig } from "../support/listenerRig.js"
import { waitFor } from "../support/wait.js"

/*
 * The bound on verified CP connections held at once (ListenerLimits.maxAuthorized): one more closes
 * the oldest, logged, and the newer ones keep working.
 */

const MAX_AUTHORIZED = 2

let rig: ListenerRig
beforeAll(async () => {
  rig = await startListenerRig({ limits: { maxAuthorized: MAX_AUTHORIZED } })
})
afterAll(async () => {
  await rig.close()
})

/** A Session on its own connection, once the listener answered its Hello (so it holds the connection). */
const helloed = async (id: string): Promise<CpSession> => {
  const s = rig.session()
  expect((await s.request(C.hello(id))).payload?.$case).toBe("helloAck")
  return s
}

describe("authorized connections", () => {
  it(`one over ${MAX_AUTHORIZED} closes the oldest; the others keep their Sessions`, async () => {
    const oldest = await helloed("first")
    let oldestEnded = false
    void oldest.ended.then(() => (oldestEnded = true))
    const kept = [await helloed("second")]
    expect(rig.logs.events("listener_connection_evicted")).toEqual([])
    kept.push(await helloed("third"))
    await waitFor(() => oldestEnded, 10_000, "the oldest Session ended by its connection's close")
    expect(rig.logs.events("listener_connection_evicted")).toMatchObject([
      { level: "warn", max_authorized: MAX_AUTHORIZED, remote_address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) }
    ])
    for (const [n, s] of kept.entries()) {
      expect((await s.request(C.hello(`again-${n}`))).payload?.$case).toBe("helloAck")
      s.close()
      expect((await s.ended).code).toBe(0)
    }
  })
})
