import * as grpc from "@grpc/grpc-js"
import { randomBytes } from "node:crypto"
import * as http2 from "node:http2"
import * as net from "node:net"
import * as tls from "node:tls"
import type { Deployment, Issued } from "../../../devkit/pki.js"
import { mintAuthority, mintLeaf } from "../../../devkit/pki.js"
import type { Command, Response } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { ClawkerdServiceService, Command as CommandCodec } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import type { ClientCredentials } from "../../../src/programs/cp/cpClient.js"
import { connect, CpSession } from "../../../src/programs/cp/cpClient.js"

/** What one hostile connection saw: where it came from (the daemon logs it as the remote address) and whether it was served. */
export interface PeerOutcome {
  readonly localAddress: string
  readonly localPort: number
  /** The listener sent application data (or HTTP/2 settings) to a peer it should have refused. */
  readonly served: boolean
}

const settle = <T>(start: (resolve: (value: T) => void) => void) => new Promise<T>(start)

let sources = 0
/**
 * The next of 250 loopback source addresses (all of 127/8 reaches the listener): hostile peers come
 * from many hosts, as they would from other containers, so the listener's per-source limits
 * (8 handshakes in flight) do not shed a test's concurrent peers.
 */
export const nextSource = () => `127.0.3.${1 + (sources++ % 250)}`

/** A TCP peer that sends `bytes` and hangs up; resolves once the listener closed on it. */
export const garbagePeer = (port: number, bytes: Buffer = randomBytes(1 + Math.floor(Math.random() * 4096))) =>
  settle<PeerOutcome>((resolve) => {
    let localPort = 0
    const localAddress = nextSource()
    const socket = net.connect({ port, host: "127.0.0.1", localAddress }, () => {
      localPort = socket.localPort ?? 0
      socket.end(bytes)
    })
    // Read whatever comes back (a TLS alert, maybe): an unread socket never sees its EOF, so never closes.
    socket.resume()
    socket.on("error", () => undefined)
    socket.on("close", () => resolve({ localAddress, localPort, served: false }))
  })

/** A TCP peer that connects and drops the connection at once, before any TLS byte. */
export const hangUpPeer = (port: number) =>
  settle<PeerOutcome>((resolve) => {
    let localPort = 0
    const localAddress = nextSource()
    const socket = net.connect({ port, host: "127.0.0.1", localAddress }, () => {
      localPort = socket.localPort ?? 0
      socket.destroy()
    })
    socket.on("error", () => undefined)
    socket.on("close", () => resolve({ localAddress, localPort, served: false }))
  })

/** A TCP peer that connects and says nothing, until the listener gives up on its handshake. */
export const silentPeer = (port: number) =>
  settle<PeerOutcome>((resolve) => {
    let localPort = 0
    const localAddress = nextSource()
    const socket = net.connect({ port, host: "127.0.0.1", localAddress }, () => (localPort = socket.localPort ?? 0))
    socket.resume()
    socket.on("error", () => undefined)
    socket.on("close", () => resolve({ localAddress, localPort, served: false }))
  })

/**
 * A TLS peer with the given options; after a handshake it sends what a gRPC client would (the
 * HTTP/2 preface), which must never be answered.
 */
export const tlsPeer = (port: number, caPem: string, options: tls.ConnectionOptions) =>
  settle<PeerOutcome>((resolve) => {
    let localPort = 0
    let served = false
    const localAddress = nextSource()
    const tcp = net.connect({ port, host: "127.0.0.1", localAddress }, () => (localPort = tcp.localPort ?? 0))
    tcp.on("error", () => undefined)
    const socket = tls.connect({
      socket: tcp,
      ca: caPem,
      checkServerIdentity: () => undefined,
      ALPNProtocols: ["h2"],
      ...options
    })
    socket.on("secureConnect", () => socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
    socket.on("data", () => (served = true))
    socket.on("error", () => undefined)
    socket.on("close", () => resolve({ localAddress, localPort, served }))
  })

/** HTTP/2 in the clear (h2c): served would mean the listener spoke HTTP/2 to it. */
export const plaintextH2Peer = (port: number) =>
  settle<PeerOutcome>((resolve) => {
    let localPort = 0
    let served = false
    const localAddress = nextSource()
    const session = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () => net.connect({ port, host: "127.0.0.1", localAddress })
    })
    session.on("connect", (_s, socket) => (localPort = socket.localPort ?? 0))
    session.on("remoteSettings", () => (served = true))
    session.on("error", () => undefined)
    session.on("close", () => resolve({ localAddress, localPort, served }))
    // A request, so the client really writes the preface and a HEADERS frame.
    session.request({ ":path": "/clawker.clawkerd.v1.ClawkerdService/Session" }).on("error", () => undefined)
  })

/** One wrong credential: how to present it, and the reason the listener must log. */
export interface WrongCredential {
  readonly name: string
  readonly reason: string
  readonly options: tls.ConnectionOptions
}

const DAY = 24 * 3600 * 1000
const withCert = (issued: Issued) => ({ key: issued.keyPem, cert: issued.certPem })

/** Every credential the listener must refuse at the handshake (the spec's list), minted for `deployment`. */
export const wrongCredentials = async (deployment: Deployment): Promise<ReadonlyArray<WrongCredential>> => {
  const { ca } = deployment
  const cp = { cn: "clawker-controlplane", eku: ["clientAuth" as const] }
  return [
    { name: "no certificate", reason: "no_cert", options: {} },
    { name: "foreign CA", reason: "untrusted_ca", options: withCert(await mintLeaf(await mintAuthority("rogue"), cp)) },
    { name: "wrong CN", reason: "cn", options: withCert(await mintLeaf(ca, { ...cp, cn: "clawker.demo.other" })) },
    { name: "the agent's own leaf", reason: "cn", options: withCert(deployment.agent) },
    {
      name: "serverAuth-only EKU",
      reason: "eku",
      options: withCert(await mintLeaf(ca, { ...cp, eku: ["serverAuth"] }))
    },
    {
      name: "expired",
      reason: "expired",
      options: withCert(
        await mintLeaf(ca, { ...cp, notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) })
      )
    },
    {
      name: "not yet valid",
      reason: "not_yet_valid",
      options: withCert(
        await mintLeaf(ca, { ...cp, notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 10 * DAY) })
      )
    },
    {
      name: "TLS 1.2 only",
      reason: "protocol",
      options: { ...withCert(deployment.cpClient), maxVersion: "TLSv1.2" }
    }
  ]
}

/**
 * A Session of an authorized CP that can also put arbitrary bytes on the wire as one gRPC message:
 * `send` encodes a Command, `sendRaw` sends the bytes as they are.
 */
export interface RawSession {
  readonly session: CpSession
  readonly sendRaw: (bytes: Uint8Array) => void
  readonly close: () => void
}

const RawClient = grpc.makeGenericClientConstructor(
  {
    session: {
      ...ClawkerdServiceService.session,
      requestSerialize: (value: Command | Uint8Array) =>
        value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(CommandCodec.encode(value).finish())
    }
  },
  "RawClawkerd"
)

export const openRawSession = (address: string, credentials: ClientCredentials): RawSession => {
  const client = new RawClient(
    address,
    grpc.credentials.createSsl(
      Buffer.from(credentials.caPem),
      Buffer.from(credentials.keyPem),
      Buffer.from(credentials.certPem),
      { checkServerIdentity: () => undefined }
    ),
    { "grpc.ssl_target_name_override": "clawkerd" }
  )
  const call = (client as unknown as { session(): grpc.ClientDuplexStream<Command, Response> }).session()
  return {
    session: new CpSession(call),
    sendRaw: (bytes) => void call.write(bytes as unknown as Command),
    close: () => client.close()
  }
}

/** A CP Session on a channel of its own, closed when the Session ends: a long test leaks no client sockets. */
export const ownSession = (address: string, credentials: ClientCredentials): CpSession => {
  const client = connect(address, credentials)
  const session = CpSession.open(client)
  void session.ended.then(() => client.close())
  return session
}

/**
 * A TCP relay in front of a server. `cut` resets every relayed connection on both sides at once, the
 * way a network failure ends a Session (no RST_STREAM, no GOAWAY, a dead transport).
 */
export const startRelay = async (targetPort: number) => {
  const pairs = new Set<[net.Socket, net.Socket]>()
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1")
    const pair: [net.Socket, net.Socket] = [client, upstream]
    pairs.add(pair)
    // One side gone ends the other: pipe() does not end its destination when the source was reset, and
    // an untracked half would keep close() waiting forever.
    for (const socket of pair) {
      socket.on("error", () => undefined)
      socket.on("close", () => {
        pairs.delete(pair)
        for (const other of pair) other.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      for (const pair of pairs) for (const socket of pair) socket.resetAndDestroy()
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const pair of pairs) for (const socket of pair) socket.destroy()
      })
  }
}

/** Runs `tasks` with at most `limit` in flight; resolves with every result in order. */
export const inBatches = async <T>(limit: number, tasks: ReadonlyArray<() => Promise<T>>): Promise<Array<T>> => {
  const results: Array<T> = new Array(tasks.length)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < tasks.length; i = next++) results[i] = await tasks[i]!()
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}
