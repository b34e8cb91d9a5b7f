import { spawn } from "node:child_process"
import * as tls from "node:tls"
import * as C from "../src/devkit/commands.js"
import type { ClientCredentials } from "../src/devkit/cpClient.js"
import { connect } from "../src/devkit/cpClient.js"
import type { Response } from "../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { bundleEntry } from "../test/support/bundle.js"
import { cpCredentials } from "../test/support/daemonInNamespace.js"
import type { Bench, BenchContext } from "./harness.js"
import { cpuSecondsOf, measure, median, MiB, within } from "./harness.js"
import { deployment, startDaemon } from "./rigs.js"

const GiB = 1024 * MiB
/** The real CP (grpc-go) grows its receive window with the bandwidth-delay product up to this. */
const CP_WINDOW = 16 * MiB

/** One transfer: wall ms, and the CPU seconds the sending process and this one (the receiver) spent on it. */
export interface Transfer {
  readonly ms: number
  readonly senderCpu: number
  readonly receiverCpu: number
}

/** Starts the clocks of one transfer; the returned function stops them. */
const metered = (senderCpu: () => number): () => Transfer => {
  const sender = senderCpu()
  const receiver = process.cpuUsage()
  const start = performance.now()
  return () => {
    const ms = performance.now() - start
    const used = process.cpuUsage(receiver)
    return { ms, senderCpu: senderCpu() - sender, receiverCpu: (used.user + used.system) / 1e6 }
  }
}

/**
 * `head -c BYTES /dev/zero` as a ShellCommand, its output counted as it arrives, never kept (the CP
 * client's CpSession keeps every reply, which would hold the whole GiB). Metered from send to Done;
 * `daemonCpu` reads clawkerd's CPU seconds.
 */
export const throughShell = async (
  address: string,
  credentials: ClientCredentials,
  bytes: number,
  id: string,
  daemonCpu: () => number
): Promise<Transfer> => {
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
    const stop = metered(daemonCpu)
    const done = replies((r) => {
      const payload = r.payload
      if (payload?.$case === "output") received += payload.value.data.length
      if (payload?.$case === "error") failed = payload.value.message
      return payload?.$case === "done" || payload?.$case === "error"
    })
    call.write(C.shell(id, [C.stage(["head", "-c", String(bytes), "/dev/zero"])]))
    await done
    const transfer = stop()
    call.end()
    if (failed !== undefined) throw new Error(`${id}: ${failed}`)
    if (received !== bytes) throw new Error(`${id}: ${received} bytes arrived of ${bytes}`)
    return transfer
  } finally {
    client.close()
  }
}

/** The baseline server (bench/tlsSource.ts) in its own process, ended with the benchmark. */
export const startTlsSource = async (ctx: BenchContext, bootstrapDir: string, bytes: number) => {
  const program = await bundleEntry("bench/tlsSource.ts")
  const child = spawn(process.execPath, [program, bootstrapDir, String(bytes)], { stdio: ["ignore", "pipe", "pipe"] })
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()))
  const pid = child.pid ?? -1
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
  return { port, cpu: () => cpuSecondsOf(pid) }
}

/** The same bytes over a raw TLS 1.3 socket with the same certificates, metered from handshake done to end. */
export const throughTls = (port: number, credentials: ClientCredentials, bytes: number, sourceCpu: () => number) =>
  new Promise<Transfer>((resolve, reject) => {
    let stop: (() => Transfer) | undefined
    let received = 0
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca: credentials.caPem,
      cert: credentials.certPem,
      key: credentials.keyPem,
      minVersion: "TLSv1.3",
      checkServerIdentity: () => undefined
    }, () => (stop = metered(sourceCpu)))
    socket.on("data", (chunk: Buffer) => (received += chunk.length))
    socket.once("error", reject)
    socket.once("end", () => {
      const transfer = stop?.()
      socket.destroy()
      if (transfer === undefined) reject(new Error("raw TLS: the stream ended before the handshake"))
      else if (received === bytes) resolve(transfer)
      else reject(new Error(`raw TLS: ${received} bytes arrived of ${bytes}`))
    })
  })

export const throughput: Bench = {
  name: "throughput",
  title: "Output throughput: head -c N /dev/zero through a ShellCommand to the CP client",
  run: async (ctx) => {
    const bytes = ctx.count(GiB, 128 * MiB)
    // The target is on the median of 5 rounds, quick or not: one round's ratio swings with the load.
    const rounds = 5
    const fixture = await deployment(ctx)
    const credentials = cpCredentials(fixture.deployment)
    const run = await startDaemon(ctx, fixture)
    const address = `127.0.0.1:${await run.port()}`
    const daemonPid = await run.ns.pid()
    const source = await startTlsSource(ctx, fixture.dir, bytes)
    const shell: Array<Transfer> = []
    const raw: Array<Transfer> = []
    for (let i = 0; i < rounds; i++) {
      shell.push(await throughShell(address, credentials, bytes, `head-${i}`, () => cpuSecondsOf(daemonPid)))
      raw.push(await throughTls(source.port, credentials, bytes, source.cpu))
    }
    const rate = (t: Transfer) => bytes / MiB / (t.ms / 1000)
    const perGiB = (seconds: number) => seconds / (bytes / GiB)
    const row = (transfers: ReadonlyArray<Transfer>, f: (t: Transfer) => number, digits: number) =>
      transfers.map((t) => f(t).toFixed(digits)).join(" ")
    ctx.log(`MiB/s through clawkerd: ${row(shell, rate, 0)}; raw TLS: ${row(raw, rate, 0)}`)
    ctx.log(
      `CPU s/GiB, clawkerd: ${row(shell, (t) => perGiB(t.senderCpu), 2)}; TLS source: ${
        row(raw, (t) => perGiB(t.senderCpu), 2)
      }; the receiving client: ${row(shell, (t) => perGiB(t.receiverCpu), 2)} (gRPC), ${
        row(raw, (t) => perGiB(t.receiverCpu), 2)
      } (raw TLS)`
    )
    const medianOf = (transfers: ReadonlyArray<Transfer>, f: (t: Transfer) => number) => median(transfers.map(f))
    return {
      counts: { mib: bytes / MiB, rounds },
      measures: [
        measure("median throughput", "MiB/s", medianOf(shell, rate), {
          baseline: { name: "raw TLS 1.3 socket", value: medianOf(raw, rate) },
          target: { on: "ratio", op: ">=", limit: 0.5 }
        }),
        measure("median CPU per GiB sent", "s", medianOf(shell, (t) => perGiB(t.senderCpu)), {
          baseline: { name: "raw TLS source process", value: medianOf(raw, (t) => perGiB(t.senderCpu)) }
        })
      ],
      notes: [
        "clawkerd: from sending the ShellCommand to its Done, every OutputChunk counted by a gRPC client in the harness.",
        "Baseline: a Node process with the agent's certificates pipes `head -c N /dev/zero` into a TLS 1.3 socket to",
        "the CP's client leaf, timed from the handshake to the end of the stream. Rounds alternate; medians.",
        "CPU: user + system seconds of the clawkerd process (all its threads, not the `head` child) and of the",
        "TLS source process over the same span, from /proc/PID/stat, per GiB."
      ]
    }
  }
}
