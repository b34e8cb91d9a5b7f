import * as grpc from "@grpc/grpc-js"
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Command, Response } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { ClawkerdServiceService } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../../src/programs/cp/commands.js"
import { CpSession } from "../../src/programs/cp/cpClient.js"
import type { ListenerRig } from "../support/listenerRig.js"
import { startListenerRig } from "../support/listenerRig.js"
import { waitFor } from "../support/wait.js"

let rig: ListenerRig
beforeAll(async () => {
  rig = await startListenerRig()
})
afterAll(async () => {
  await rig.close()
})

describe("Session over real mTLS", () => {
  it("Hello → HelloAck{false,false}; AgentInitialized writes the marker and answers Done{0}; Hello then reports initialized", async () => {
    const s = rig.session()
    expect(await s.request(C.hello("h1"))).toEqual({
      commandId: "h1",
      payload: { $case: "helloAck", value: { initialized: false, cmdRunning: false } }
    })
    expect(await s.request(C.agentInitialized("i1"))).toEqual({
      commandId: "i1",
      payload: { $case: "done", value: { finalExitCode: 0 } }
    })
    const stat = fs.statSync(rig.initMarker)
    expect(stat.mode & 0o777).toBe(0o600)
    expect(stat.size).toBe(0)
    expect(fs.statSync(rig.initMarker.replace(/\/[^/]+$/, "")).mode & 0o777).toBe(0o700)
    expect(await s.request(C.hello(""))).toEqual({
      commandId: "",
      payload: { $case: "helloAck", value: { initialized: true, cmdRunning: false } }
    })
    s.close()
    expect((await s.ended).code).toBe(0)
  })

  it("command_id rules: empty id, unknown payload; capabilities not wired are named", async () => {
    const s = rig.session()
    const cases = [
      C.sh("", "true"),
      C.stdin("", "x"),
      C.closeStdin(""),
      C.signal("", 15),
      C.registerRequired(""),
      C.agentReady(""),
      C.agentInitialized("")
    ]
    for (const command of cases) {
      expect(await s.request(command)).toEqual({
        commandId: "",
        payload: {
          $case: "error",
          value: { code: ErrorCode.ERROR_CODE_INVALID_REQUEST, message: "command_id required" }
        }
      })
    }
    expect(await s.request({ commandId: "u1", payload: undefined })).toEqual({
      commandId: "u1",
      payload: {
        $case: "error",
        value: { code: ErrorCode.ERROR_CODE_INVALID_REQUEST, message: "unknown payload type <nil>" }
      }
    })
    expect((await s.request(C.registerRequired("r1"))).payload).toEqual({
      $case: "registerDone",
      value: { ok: false, error: "clawkerd has no register coordinator wired" }
    })
    expect((await s.request(C.agentReady("a1"))).payload).toEqual({
      $case: "error",
      value: { code: ErrorCode.ERROR_CODE_IO_ERROR, message: "agent_ready: spawn entry not wired" }
    })
    expect((await s.request(C.sh("s1", "true"))).payload).toMatchObject({
      $case: "error",
      value: { message: "shell: clawkerd has no shell executor wired" }
    })
    expect(rig.logs.events("session_unknown_payload")).toHaveLength(1)
    expect(rig.logs.events("agent_ready_unwired")).toHaveLength(1)
    s.close()
    await s.ended
  })

  it("audit events carry the peer CN, its certificate thumbprint and the duration", async () => {
    const s = rig.session()
    await s.request(C.hello("a"))
    s.close()
    await s.ended
    const { X509Certificate } = await import("node:crypto")
    const thumbprint = new X509Certificate(rig.fx.deployment.cpClient.certPem).fingerprint256.replace(/:/g, "")
      .toLowerCase()
    await waitFor(() => rig.logs.events("session_ended").length > 0)
    const started = rig.logs.events("session_started").at(-1)!
    expect(started).toMatchObject({ peer_cn: "clawker-controlplane", peer_thumbprint: thumbprint })
    expect(started.remote_address).toMatch(/^127\.0\.0\.1:\d+$/)
    const ended = rig.logs.events("session_ended").at(-1)!
    expect(ended.peer_cn).toBe("clawker-controlplane")
    expect(ended.duration).toEqual(expect.any(Number))
    expect(rig.logs.events("session_eof").length).toBeGreaterThan(0)
  })

  it("a Session cancelled by the client ends cleanly and a new Session works", async () => {
    const s = rig.session()
    await s.request(C.hello("x"))
    const before = rig.logs.events("session_ended").length
    s.cancel()
    await s.ended
    await waitFor(() => rig.logs.events("session_ended").length > before)
    const again = rig.session()
    expect((await again.request(C.hello("y"))).payload?.$case).toBe("helloAck")
    again.close()
    await again.ended
  })

  it("a malformed frame is answered and logged; the Session, a concurrent one and the listener carry on", async () => {
    const good = rig.session()
    expect((await good.request(C.hello("g1"))).payload?.$case).toBe("helloAck")
    const Garbled = grpc.makeGenericClientConstructor(
      {
        session: {
          ...ClawkerdServiceService.session,
          requestSerialize: () => Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])
        }
      },
      "Garbled"
    )
    const client = new Garbled(
      rig.address,
      grpc.credentials.createSsl(
        Buffer.from(rig.fx.deployment.ca.certPem),
        Buffer.from(rig.fx.deployment.cpClient.keyPem),
        Buffer.from(rig.fx.deployment.cpClient.certPem),
        { checkServerIdentity: () => undefined }
      )
    )
    const bad = new CpSession(
      (client as unknown as { session(): grpc.ClientDuplexStream<Command, Response> }).session()
    )
    bad.send(C.hello("b1"))
    const reply = await bad.next("")
    expect(reply.payload).toMatchObject({ $case: "error", value: { code: ErrorCode.ERROR_CODE_INVALID_REQUEST } })
    expect(reply.payload?.$case === "error" && reply.payload.value.message).toMatch(/^malformed command frame: /)
    expect(rig.logs.events("session_frame_malformed")).toMatchObject([{ bytes: 6 }])
    bad.send(C.hello("b2"))
    expect((await bad.next("")).payload?.$case).toBe("error")
    bad.close()
    await bad.ended
    client.close()
    expect((await good.request(C.hello("g2"))).payload?.$case).toBe("helloAck")
    good.close()
    await good.ended
  })
})
