import * as http2 from "node:http2"
import * as tls from "node:tls"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Issued } from "../../devkit/pki.js"
import { mintAuthority, mintLeaf } from "../../devkit/pki.js"
import * as C from "../../src/programs/cp/commands.js"
import { CpSession } from "../../src/programs/cp/cpClient.js"
import { connect } from "../../src/programs/cp/cpClient.js"
import type { ListenerRig } from "../support/listenerRig.js"
import { startListenerRig } from "../support/listenerRig.js"
import { waitFor } from "../support/wait.js"

let rig: ListenerRig
const DAY = 24 * 3600 * 1000

beforeAll(async () => {
  rig = await startListenerRig()
})
afterAll(async () => {
  await rig.close()
})

/** A raw TLS dial: resolves with what the client saw once the server closed the connection. */
const dial = (options: tls.ConnectionOptions) =>
  new Promise<{ readonly handshake: boolean; readonly error?: string; readonly localPort: number }>((resolve) => {
    let handshake = false
    let error: string | undefined
    let localPort = 0
    const socket = tls.connect({
      host: "127.0.0.1",
      port: rig.port,
      ca: rig.fx.deployment.ca.certPem,
      checkServerIdentity: () => undefined,
      ALPNProtocols: ["h2"],
      ...options
    })
    socket.on("connect", () => (localPort = socket.localPort ?? 0))
    socket.on("secureConnect", () => {
      handshake = true
      // What a client would send next: the HTTP/2 preface. It must never be answered.
      socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    })
    socket.on("data", () => {
      error = "server answered a non-CP peer"
    })
    socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message))
    socket.on("close", () => resolve({ handshake, ...(error === undefined ? {} : { error }), localPort }))
  })

const withCert = (issued: Issued) => ({ key: issued.keyPem, cert: issued.certPem })

const rejectionFor = async (localPort: number) => {
  await waitFor(() =>
    rig.logs.events("listener_peer_rejected").some((e) => e.remote_address === `127.0.0.1:${localPort}`)
  )
  return rig.logs.events("listener_peer_rejected").find((e) => e.remote_address === `127.0.0.1:${localPort}`)!
}

const stillServes = async () => {
  const s = rig.session()
  expect((await s.request(C.hello("alive"))).payload?.$case).toBe("helloAck")
  s.close()
  await s.ended
}

describe("the listener refuses every peer but the control plane, at the TLS layer", () => {
  const cases: Array<[string, () => Promise<tls.ConnectionOptions>, string]> = [
    ["no client certificate", async () => ({}), "no_cert"],
    [
      "a certificate from another CA",
      async () =>
        withCert(await mintLeaf(await mintAuthority("rogue"), { cn: "clawker-controlplane", eku: ["clientAuth"] })),
      "untrusted_ca"
    ],
    [
      "the CN of another agent",
      async () => withCert(await mintLeaf(rig.fx.deployment.ca, { cn: "clawker.demo.other", eku: ["clientAuth"] })),
      "cn"
    ],
    ["another agent's own leaf", async () => withCert(rig.fx.deployment.agent), "cn"],
    [
      "the right CN with a serverAuth-only EKU",
      async () => withCert(await mintLeaf(rig.fx.deployment.ca, { cn: "clawker-controlplane", eku: ["serverAuth"] })),
      "eku"
    ],
    [
      "an expired certificate",
      async () =>
        withCert(
          await mintLeaf(rig.fx.deployment.ca, {
            cn: "clawker-controlplane",
            eku: ["clientAuth"],
            notBefore: new Date(Date.now() - 10 * DAY),
            notAfter: new Date(Date.now() - DAY)
          })
        ),
      "expired"
    ],
    [
      "a not-yet-valid certificate",
      async () =>
        withCert(
          await mintLeaf(rig.fx.deployment.ca, {
            cn: "clawker-controlplane",
            eku: ["clientAuth"],
            notBefore: new Date(Date.now() + DAY),
            notAfter: new Date(Date.now() + 10 * DAY)
          })
        ),
      "not_yet_valid"
    ],
    [
      "a second CN attribute after the CP's",
      async () =>
        withCert(
          await mintLeaf(rig.fx.deployment.ca, {
            cn: "clawker-controlplane",
            subject: "CN=clawker-controlplane, CN=clawker.demo.other",
            eku: ["clientAuth"]
          })
        ),
      "cn"
    ],
    [
      "the CP's CN in a multi-valued RDN",
      async () =>
        withCert(
          await mintLeaf(rig.fx.deployment.ca, {
            cn: "clawker-controlplane",
            subject: "CN=clawker-controlplane+O=clawker",
            eku: ["clientAuth"]
          })
        ),
      "cn"
    ],
    [
      "a TLS 1.2-only client with the CP's own certificate",
      async () => ({ ...withCert(rig.fx.deployment.cpClient), maxVersion: "TLSv1.2" as const }),
      "protocol"
    ]
  ]
  for (const [name, options, reason] of cases) {
    it(`${name} → rejected (${reason}), never served, and the listener keeps serving`, async () => {
      const sessionsBefore = rig.logs.events("session_started").length
      const result = await dial(await options())
      expect(result.error).not.toBe("server answered a non-CP peer")
      const event = await rejectionFor(result.localPort)
      expect(event.reason).toBe(reason)
      expect(rig.logs.events("session_started")).toHaveLength(sessionsBefore)
      await stillServes()
    })
  }

  it("the CP's certificate with its CN among other attributes is served", async () => {
    const cp = await mintLeaf(rig.fx.deployment.ca, {
      cn: "clawker-controlplane",
      subject: "O=clawker, CN=clawker-controlplane",
      eku: ["clientAuth"]
    })
    const s = rig.session({ caPem: rig.fx.deployment.ca.certPem, certPem: cp.certPem, keyPem: cp.keyPem })
    expect((await s.request(C.hello("o-then-cn"))).payload?.$case).toBe("helloAck")
    s.close()
    await s.ended
  })

  it("no TLS session is resumed: each connection of the CP presents its certificate again", async () => {
    const cp = { ...withCert(rig.fx.deployment.cpClient), ca: rig.fx.deployment.ca.certPem }
    const connectOnce = (session?: Buffer) =>
      new Promise<{ readonly reused: boolean; readonly ticket: Buffer | undefined }>((resolve, reject) => {
        let ticket: Buffer | undefined
        const socket = tls.connect({
          host: "127.0.0.1",
          port: rig.port,
          checkServerIdentity: () => undefined,
          ALPNProtocols: ["h2"],
          ...cp,
          ...(session === undefined ? {} : { session })
        })
        socket.on("session", (s: Buffer) => (ticket = s))
        socket.on("error", reject)
        socket.on("secureConnect", () => {
          const reused = socket.isSessionReused()
          // TLS 1.3 sends its tickets after the handshake: give them a moment to arrive.
          setTimeout(() => {
            socket.destroy()
            resolve({ reused, ticket })
          }, 200)
        })
      })
    const first = await connectOnce()
    const second = await connectOnce(first.ticket)
    expect(first.reused).toBe(false)
    expect(second.reused).toBe(false)
  })

  it("plaintext HTTP/2 → rejected as protocol, and the listener keeps serving", async () => {
    const session = http2.connect(`http://127.0.0.1:${rig.port}`)
    const failed = await new Promise<boolean>((resolve) => {
      session.on("error", () => resolve(true))
      session.on("close", () => resolve(true))
      session.on("remoteSettings", () => resolve(false))
    })
    session.destroy()
    expect(failed).toBe(true)
    await waitFor(() => rig.logs.events("listener_peer_rejected").some((e) => e.reason === "protocol"))
    await stillServes()
  })

  it("a gRPC client with a wrong certificate never opens a Session", async () => {
    const before = rig.logs.events("session_started").length
    const rogue = await mintLeaf(rig.fx.deployment.ca, { cn: "clawker.demo.other", eku: ["clientAuth"] })
    const client = connect(rig.address, {
      caPem: rig.fx.deployment.ca.certPem,
      certPem: rogue.certPem,
      keyPem: rogue.keyPem
    })
    const s = CpSession.open(client)
    s.send(C.hello("h"))
    const end = await s.ended
    client.close()
    expect(end.code).toBe(14)
    expect(rig.logs.events("session_started")).toHaveLength(before)
  })
})
