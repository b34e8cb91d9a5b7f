import { spawn } from "node:child_process"
import * as tls from "node:tls"
import type { Response } from "../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../src/programs/cp/commands.js"
import type { ClientCredentials } from "../src/programs/cp/cpClient.js"
import { connect } from "../src/programs/cp/cpClient.js"
import { bundleEntry } from "../test/support/bundle.js"
import { cpCredentials } from "../test/support/daemonInNamespace.js"
import type { Bench, BenchContext } from "./harness.js"
import { measure, median, MiB, within } from "./harness.js"
import { deployment, startDaemon } from "./rigs.js"

const GiB = 1024 * MiB
/** The real CP (grpc-go) grows its receive window with the bandwidth-delay product up to this. */
const CP_WINDOW = 16 * MiB

/**
 * `head -c BYTES /dev/zero` as a ShellCommand, its output counted as it arrives, never kept (the CP
 * client's CpSession keeps every reply, which would hold the whole GiB). ms from send to Done.
 */
export const throughShell = async (address: string, credentials: ClientCredentials, bytes: number, id: string) => {
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
    const start = performance.now()
    const done = replies((r) => {
      const payload = r.payload
      if (payload?.$case === "output") received += payload.value.data.length
      if (payload?.$case === "error") failed = payload.value.message
      return payload?.$case === "done" || payload?.$case === "error"
    })
    call.write(C.shell(id, [C.stage(["head", "-c", String(bytes), "/dev/zero"])]))
    await done
    const ms = performance.now() - start
    call.end()
    if (failed !== undefined) throw new Error(`${id}: ${failed}`)
    if (received !== bytes) throw new Error(`${id}: ${received} bytes arrived of ${bytes}`)
    return ms
  } finally {
    client.close()
  }
}

/** The baseline server (bench/tlsSource.ts) in its own process, ended with the benchmark. */
export const startTlsSource = async (ctx: BenchContext, bootstrapDir: string, bytes: number) => {
  const program = await bundleEntry("bench/tlsSource.ts")
  const child = spawn(process.execPath, [program, bootstrapDir, String(bytes)], { stdio: ["ignore", "pipe", "pipe"] })
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()))
  ctx.defer(async () => {
    child.kill("SIGTERM")
    await within(exited, 5_000, "TLS source after SIGTERM").catch(() => child.kill("SIGKILL"))
    await exited
  })
  const port = await within(
    new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding("utf8").on("data", (text: string) => {
        const match = /port (\d+)/.exec(text)
        if (match !== null) resolve(Number(match[1]))
      })
      void exited.then(() => reject(new Error("the TLS source exited before listening")))
    }),
    10_000,
    "TLS source port"
  )
  return port
}

/** The same bytes over a raw TLS 1.3 socket with the same certificates: ms from handshake done to end. */
export const throughTls = (port: number, credentials: ClientCredentials, bytes: number) =>
  new Promise<number>((resolve, reject) => {
    let start = 0
    let received = 0
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca: credentials.caPem,
      cert: credentials.certPem,
      key: credentials.keyPem,
      minVersion: "TLSv1.3",
      checkServerIdentity: () => undefined
    }, () => (start = performance.now()))
    socket.on("data", (chunk: Buffer) => (received += chunk.length))
    socket.once("error", reject)
    socket.once("end", () => {
      const ms = performance.now() - start
      socket.destroy()
      if (received === bytes) resolve(ms)
      else reject(new Error(`raw TLS: ${received} bytes arrived of ${bytes}`))
    })
  })

export const throughput: Bench = {
  name: "throughput",
  title: "Output throughput: head -c N /dev/zero through a ShellCommand to the CP client",
  run: async (ctx) => {
    const bytes = ctx.count(GiB, 128 * MiB)
    const rounds = ctx.count(3, 1)
    const fixture = await deployment(ctx)
    const credentials = cpCredentials(fixture.deployment)
    const run = await startDaemon(ctx, fixture)
    const address = `127.0.0.1:${await run.port()}`
    const sourcePort = await startTlsSource(ctx, fixture.dir, bytes)
    const rate = (ms: number) => bytes / MiB / (ms / 1000)
    const shell: Array<number> = []
    const raw: Array<number> = []
    for (let i = 0; i < rounds; i++) {
      shell.push(rate(await throughShell(address, credentials, bytes, `head-${i}`)))
      raw.push(rate(await throughTls(sourcePort, credentials, bytes)))
    }
    ctx.log(
      `MiB/s through clawkerd: ${shell.map((r) => r.toFixed(0)).join(" ")}; raw TLS: ${
        raw.map((r) => r.toFixed(0)).join(" ")
      }`
    )
    return {
      counts: { mib: bytes / MiB, rounds },
      measures: [
        measure("median throughput", "MiB/s", median(shell), {
          baseline: { name: "raw TLS 1.3 socket", value: median(raw) },
          target: { on: "ratio", op: ">=", limit: 0.5 }
        })
      ],
      notes: [
        "clawkerd: from sending the ShellCommand to its Done, every OutputChunk counted by a gRPC client in the harness.",
        "Baseline: a Node process with the agent's certificates pipes `head -c N /dev/zero` into a TLS 1.3 socket to",
        "the CP's client leaf, timed from the handshake to the end of the stream. Rounds alternate; medians."
      ]
    }
  }
}
