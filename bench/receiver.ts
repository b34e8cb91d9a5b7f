import * as readline from "node:readline"
import * as tls from "node:tls"
import type { Response } from "../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../src/programs/cp/commands.js"
import type { ClientCredentials } from "../src/programs/cp/cpClient.js"
import { connect } from "../src/programs/cp/cpClient.js"

/*
 * The receiving end of the throughput benchmark, a process of its own as the CP is (`node receiver.js`,
 * its client certificate and key and the CA in CLAWKERD_BENCH_CP_CERT/_KEY/_CA): run in the benchmark's
 * own process, both clients paid for that process's far larger heap on every full collection their
 * buffers set off. It reads one request a line on stdin, {"kind":"shell","address","bytes","id"} or
 * {"kind":"tls","port","bytes"}, and answers {"event":"start"} as its clock starts and then
 * {"event":"done","ms","cpu"} (its own CPU seconds over the transfer) or {"event":"failed","error"}.
 */

const MiB = 1024 * 1024
/** The real CP (grpc-go) grows its receive window with the bandwidth-delay product up to this. */
const CP_WINDOW = 16 * MiB

export type Request =
  | { readonly kind: "shell"; readonly address: string; readonly bytes: number; readonly id: string }
  | { readonly kind: "tls"; readonly port: number; readonly bytes: number }

export type Report =
  | { readonly event: "start" }
  | { readonly event: "done"; readonly ms: number; readonly cpu: number }
  | { readonly event: "failed"; readonly error: string }

const say = (report: Report) => process.stdout.write(`${JSON.stringify(report)}\n`)

/** Starts the clock and the CPU count of one transfer (and says so); the returned function reports both. */
const metered = (): () => void => {
  say({ event: "start" })
  const cpu = process.cpuUsage()
  const start = performance.now()
  return () => {
    const ms = performance.now() - start
    const used = process.cpuUsage(cpu)
    say({ event: "done", ms, cpu: (used.user + used.system) / 1e6 })
  }
}

/**
 * `head -c BYTES /dev/zero` as a ShellCommand, its output counted as it arrives, never kept (the CP
 * client's CpSession keeps every reply, which would hold the whole GiB). Metered from send to Done.
 */
const throughShell = async (address: string, credentials: ClientCredentials, bytes: number, id: string) => {
  const client = connect(address, credentials, { receiveWindow: CP_WINDOW })
  try {
    const call = client.session()
    const replies = (onReply: (r: Response) => boolean) =>
      new Promise<void>((resolve, reject) => {
        const onData = (r: Response) => {
          if (onReply(r)) {
            call.off("data", onData)
            resolve()
          }
        }
        call.on("data", onData)
        call.once("error", reject)
      })
    // The connection and the Session are up before the clock starts.
    const acked = replies((r) => r.payload?.$case === "helloAck")
    call.write(C.hello("warm"))
    await acked
    let received = 0
    let failed: string | undefined
    const stop = metered()
    const done = replies((r) => {
      const payload = r.payload
      if (payload?.$case === "output") received += payload.value.data.length
      if (payload?.$case === "error") failed = payload.value.message
      return payload?.$case === "done" || payload?.$case === "error"
    })
    call.write(C.shell(id, [C.stage(["head", "-c", String(bytes), "/dev/zero"])]))
    await done
    if (failed !== undefined) throw new Error(`${id}: ${failed}`)
    if (received !== bytes) throw new Error(`${id}: ${received} bytes arrived of ${bytes}`)
    stop()
    call.end()
  } finally {
    client.close()
  }
}

/** The same bytes over a raw TLS 1.3 socket with the same certificates, metered from handshake done to end. */
const throughTls = (port: number, credentials: ClientCredentials, bytes: number) =>
  new Promise<void>((resolve, reject) => {
    let stop: (() => void) | undefined
    let received = 0
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca: credentials.caPem,
      cert: credentials.certPem,
      key: credentials.keyPem,
      minVersion: "TLSv1.3",
      checkServerIdentity: () => undefined
    }, () => (stop = metered()))
    socket.on("data", (chunk: Buffer) => (received += chunk.length))
    socket.once("error", reject)
    socket.once("end", () => {
      socket.destroy()
      if (stop === undefined) reject(new Error("raw TLS: the stream ended before the handshake"))
      else if (received !== bytes) reject(new Error(`raw TLS: ${received} bytes arrived of ${bytes}`))
      else resolve(stop())
    })
  })

const fromEnv = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`receiver: ${name} is not set`)
  return value
}

const credentials: ClientCredentials = {
  caPem: fromEnv("CLAWKERD_BENCH_CP_CA"),
  certPem: fromEnv("CLAWKERD_BENCH_CP_CERT"),
  keyPem: fromEnv("CLAWKERD_BENCH_CP_KEY")
}

// One request at a time: the benchmark waits for each answer before sending the next.
for await (const line of readline.createInterface({ input: process.stdin })) {
  const request = JSON.parse(line) as Request
  try {
    if (request.kind === "shell") await throughShell(request.address, credentials, request.bytes, request.id)
    else await throughTls(request.port, credentials, request.bytes)
  } catch (e) {
    say({ event: "failed", error: e instanceof Error ? e.message : String(e) })
  }
}
