import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as C from "../../src/programs/cp/commands.js"
import type { Registrar } from "../../src/services/Registrar.js"
import type { ListenerRig } from "../support/listenerRig.js"
import { startRegisterListenerRig } from "../support/listenerRig.js"
import type { Rig } from "../support/registerRig.js"
import { startRig } from "../support/registerRig.js"

let cp: Rig
let rig: ListenerRig<Registrar>

beforeAll(async () => {
  cp = await startRig()
  rig = await startRegisterListenerRig(cp)
})
afterAll(async () => {
  await rig.close()
  await cp.close()
})

describe("RegisterRequired over a Session, against a real OAuth2 server and CP AgentService", () => {
  it("answers RegisterDone{ok} correlated by command_id, and replays it without a second exchange", async () => {
    const s = rig.session()
    s.send(C.registerRequired("reg-1"))
    s.send(C.hello("h-between"))
    expect((await s.next("h-between")).payload?.$case).toBe("helloAck")
    expect(await s.next("reg-1")).toEqual({
      commandId: "reg-1",
      payload: { $case: "registerDone", value: { ok: true, error: "" } }
    })
    expect(cp.cp.calls).toHaveLength(1)
    expect((await s.request(C.registerRequired("reg-2"))).payload).toEqual({
      $case: "registerDone",
      value: { ok: true, error: "" }
    })
    expect(cp.cp.calls).toHaveLength(1)
    expect(rig.logs.events("register_replay_short_circuit")).toHaveLength(1)
    s.close()
    await s.ended
  })
})
