import { afterEach, describe, expect, it } from "vitest"
import type { Response } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../../src/programs/cp/commands.js"
import type { CpSession } from "../../src/programs/cp/cpClient.js"
import type { Registrar } from "../../src/services/Registrar.js"
import type { ListenerRig } from "../support/listenerRig.js"
import { startRegisterListenerRig } from "../support/listenerRig.js"
import type { Rig, RigOptions } from "../support/registerRig.js"
import { startRig } from "../support/registerRig.js"

/*
 * Register faults seen from a Session (test/integration/registrar*.test.ts has the coordinator
 * alone): RegisterDone carries the failure, later Commands on the same Session are served while
 * Register is stuck, and a retry does what the spec says (retried when the assertion was not
 * spent, replayed when it was). Real OAuth2 server, real CP AgentService, the real listener.
 */

interface Setup {
  readonly cp: Rig
  readonly rig: ListenerRig<Registrar>
}

const setups: Array<Setup> = []
afterEach(async () => {
  for (const { cp, rig } of setups.splice(0)) {
    await rig.close()
    cp.oauth.setFault(undefined)
    await cp.close()
  }
})

/** A fresh deployment: the Register outcome is cached per process, so each case gets its own. */
const setup = async (options: RigOptions = {}) => {
  const cp = await startRig(options)
  const rig = await startRegisterListenerRig(cp)
  const s: Setup = { cp, rig }
  setups.push(s)
  return s
}

const registerDone = (r: Response) => (r.payload?.$case === "registerDone" ? r.payload.value : undefined)

const helloWorks = async (s: CpSession, id: string) =>
  expect((await s.request(C.hello(id))).payload?.$case).toBe("helloAck")

describe("Register faults over a Session", () => {
  it("OAuth2 server down: ok:false naming the step, not spent; once it is up the retry succeeds", async () => {
    const { cp, rig } = await setup()
    await cp.stopOAuth()
    const s = rig.session()
    expect(registerDone(await s.request(C.registerRequired("r1")))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^hydra token exchange: /)
    })
    expect(rig.logs.events("register_assertion_unconsumed")).toHaveLength(1)
    await helloWorks(s, "h")
    await cp.restartOAuth()
    expect(registerDone(await s.request(C.registerRequired("r2")))).toEqual({ ok: true, error: "" })
    expect(cp.cp.calls).toHaveLength(1)
  })

  it("OAuth2 server slow: the Session is served meanwhile, a second request waits for the one exchange", async () => {
    const { cp, rig } = await setup()
    cp.oauth.setFault({ kind: "slow" })
    const s = rig.session()
    const other = rig.session()
    s.send(C.registerRequired("slow"))
    await cp.oauth.waitForRequests(1)
    await helloWorks(s, "h1")
    other.send(C.registerRequired("queued"))
    await helloWorks(other, "h2")
    expect(s.pending("slow")).toEqual([])
    cp.oauth.setFault(undefined)
    expect(registerDone(await s.next("slow"))).toEqual({ ok: true, error: "" })
    expect(registerDone(await other.next("queued"))).toEqual({ ok: true, error: "" })
    expect(cp.oauth.requests).toHaveLength(1)
    expect(cp.cp.calls).toHaveLength(1)
  })

  it("OAuth2 server answering garbage: ok:false, spent, so the retry replays it without a request", async () => {
    const { cp, rig } = await setup()
    cp.oauth.setFault({ kind: "garbage_json" })
    const s = rig.session()
    const first = registerDone(await s.request(C.registerRequired("r1")))
    expect(first).toMatchObject({ ok: false, error: expect.stringMatching(/^hydra token exchange: /) })
    cp.oauth.setFault(undefined)
    expect(registerDone(await s.request(C.registerRequired("r2")))).toEqual(first)
    expect(cp.oauth.requests).toHaveLength(1)
    expect(rig.logs.events("register_replay_short_circuit")).toHaveLength(1)
  })

  it("CP AgentService down: ok:false naming the call, replayed after", async () => {
    const { cp, rig } = await setup()
    await cp.cp.close()
    const s = rig.session()
    expect(registerDone(await s.request(C.registerRequired("r1")))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^AgentService\.Register: rpc error: code = Unavailable desc = /)
    })
    expect(registerDone(await s.request(C.registerRequired("r2")))?.ok).toBe(false)
    expect(cp.oauth.requests).toHaveLength(1)
  })

  it("CP AgentService denying: ok:false with PERMISSION_DENIED from AgentService.Register", async () => {
    const { cp, rig } = await setup({ answer: "permission_denied" })
    const s = rig.session()
    expect(registerDone(await s.request(C.registerRequired("r1")))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^AgentService\.Register: rpc error: code = PermissionDenied desc = /)
    })
    expect(cp.cp.calls).toMatchObject([{ answered: "permission_denied" }])
  })

  it("the Session cut mid-Register: the attempt finishes anyway, the next Session gets its outcome", async () => {
    const { cp, rig } = await setup()
    cp.oauth.setFault({ kind: "slow" })
    const s = rig.session()
    s.send(C.registerRequired("cut"))
    await cp.oauth.waitForRequests(1)
    s.cancel()
    await s.ended
    const next = rig.session()
    next.send(C.registerRequired("again"))
    await helloWorks(next, "h")
    cp.oauth.setFault(undefined)
    expect(registerDone(await next.next("again"))).toEqual({ ok: true, error: "" })
    expect(cp.oauth.requests).toHaveLength(1)
    expect(cp.cp.calls).toHaveLength(1)
    expect(rig.logs.events("register_replay_short_circuit")).toHaveLength(1)
  })
})
