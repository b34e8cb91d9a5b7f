import * as net from "node:net"
import * as tls from "node:tls"
import type { ClientCredentials } from "../src/programs/cp/cpClient.js"
import { cpCredentials } from "../test/support/daemonInNamespace.js"
import type { Namespaced } from "../test/support/pidns.js"
import type { Bench } from "./harness.js"
import { measure, median, sleep } from "./harness.js"
import { deployment, endNamespace, freePort, namespaced, startDaemon } from "./rigs.js"

/**
 * Resolves true once the listener at `port` completed an mTLS handshake with the CP's client leaf and
 * sent its first HTTP/2 bytes, i.e. it verified us and handed the connection to gRPC; false when the
 * connection was refused or dropped. A refused TCP connect costs next to nothing, so probing every 2 ms
 * takes little CPU from the daemon it waits for; the TLS context is built once.
 */
const accepts = (port: number, context: tls.SecureContext): Promise<boolean> =>
  new Promise((resolve) => {
    const tcp = net.connect(port, "127.0.0.1")
    tcp.once("error", () => resolve(false))
    tcp.once("connect", () => {
      const socket = tls.connect({
        socket: tcp,
        secureContext: context,
        ALPNProtocols: ["h2"],
        // The agent leaf names no host; the chain to the deployment's CA is what is checked.
        checkServerIdentity: () => undefined
      })
      const done = (ok: boolean) => {
        socket.destroy()
        resolve(ok)
      }
      socket.once("data", () => done(true))
      socket.once("error", () => done(false))
      socket.once("close", () => done(false))
    })
  })

/** When the namespace's listener first accepted us, probing every 2 ms (performance.now() time). */
export const firstAcceptance = async (ns: Namespaced, port: number, credentials: ClientCredentials) => {
  const context = tls.createSecureContext({
    ca: credentials.caPem,
    cert: credentials.certPem,
    key: credentials.keyPem,
    minVersion: "TLSv1.3"
  })
  let gone = false
  void ns.exited.then(() => (gone = true))
  for (;;) {
    if (await accepts(port, context)) return performance.now()
    if (gone) throw new Error(`clawkerd exited before its listener accepted a handshake; stderr: ${ns.stderr()}`)
    await sleep(2)
  }
}

export const boot: Bench = {
  name: "boot",
  title: "Boot: exec → listener accepting an mTLS handshake",
  run: async (ctx) => {
    const rounds = ctx.count(20, 5)
    const fixture = await deployment(ctx)
    const credentials = cpCredentials(fixture.deployment)
    const daemon: Array<number> = []
    const node: Array<number> = []
    // Interleaved, so a burst of load on the shared machine hits both sides alike.
    for (let i = 0; i < rounds; i++) {
      const bare = namespaced(ctx, [process.execPath, "-e", ""])
      const exitedAt = await bare.exited.then(() => performance.now())
      node.push(exitedAt - bare.startedAt)

      const port = await freePort()
      const run = await startDaemon(ctx, fixture, { listen: `127.0.0.1:${port}` })
      const acceptedAt = await firstAcceptance(run.ns, port, credentials)
      daemon.push(acceptedAt - run.ns.startedAt)
      run.close()
      await endNamespace(run.ns)
    }
    ctx.log(`clawkerd boots (ms): ${daemon.map((t) => t.toFixed(0)).join(" ")}`)
    ctx.log(`node -e '' runs (ms): ${node.map((t) => t.toFixed(0)).join(" ")}`)
    const baseline = { name: "node -e ''", value: median(node) }
    return {
      counts: { rounds },
      measures: [
        measure("median boot, ratio", "ms", median(daemon), {
          baseline,
          target: { on: "ratio", op: "<=", limit: 3 }
        }),
        measure("median boot, absolute", "ms", median(daemon), { target: { on: "value", op: "<=", limit: 300 } }),
        measure("fastest boot", "ms", Math.min(...daemon), {
          baseline: { name: "node -e ''", value: Math.min(...node) }
        })
      ],
      notes: [
        "Both run as PID 1 of a fresh PID namespace (unshare), timed from spawn: clawkerd until its listener",
        "completes an mTLS handshake and sends HTTP/2 bytes, node -e '' until it exited."
      ]
    }
  }
}
