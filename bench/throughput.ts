import { spawn } from "node:child_process"
import * as readline from "node:readline"
import type { ClientCredentials } from "../src/programs/cp/cpClient.js"
import { bundleEntry } from "../test/support/bundle.js"
import { cpCredentials } from "../test/support/daemonInNamespace.js"
import type { Bench, BenchContext } from "./harness.js"
import { cpuSecondsOf, measure, median, MiB, within } from "./harness.js"
import type { Report, Request } from "./receiver.js"
import { deployment, startDaemon } from "./rigs.js"

const GiB = 1024 * MiB

/** One transfer: wall ms, and the CPU seconds the sending process and the receiving one spent on it. */
export interface Transfer {
  readonly ms: number
  readonly senderCpu: number
  readonly receiverCpu: number
}

/**
 * The receiving client (bench/receiver.ts) in its own process, ended with the benchmark. `transfer`
 * runs one request; `senderCpu` is read when the receiver starts its clock and when it is done.
 */
export const startReceiver = async (ctx: BenchContext, credentials: ClientCredentials) => {
  const program = await bundleEntry("bench/receiver.ts")
  const child = spawn(process.execPath, [program], {
    stdio: ["pipe", "pipe", "inherit"],
    env: {
      ...process.env,
      CLAWKERD_BENCH_CP_CA: credentials.caPem,
      CLAWKERD_BENCH_CP_CERT: credentials.certPem,
      CLAWKERD_BENCH_CP_KEY: credentials.keyPem
    }
  })
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()))
  ctx.defer(async () => {
    child.stdin.end()
    await within(exited, 5_000, "receiver after its input ended").catch(() => child.kill("SIGKILL"))
    await exited
  })
  const reports = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async (): Promise<Report> => {
    const line = await reports.next()
    if (line.done === true) throw new Error("the receiver exited")
    const report = JSON.parse(line.value) as Report
    if (report.event === "failed") throw new Error(report.error)
    return report
  }
  const transfer = async (request: Request, senderCpu: () => number): Promise<Transfer> => {
    child.stdin.write(`${JSON.stringify(request)}\n`)
    await next()
    const before = senderCpu()
    const done = await next()
    if (done.event !== "done") throw new Error(`the receiver answered ${done.event} for done`)
    return { ms: done.ms, senderCpu: senderCpu() - before, receiverCpu: done.cpu }
  }
  return { transfer }
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
    const receiver = await startReceiver(ctx, credentials)
    const shell: Array<Transfer> = []
    const raw: Array<Transfer> = []
    for (let i = 0; i < rounds; i++) {
      const id = `head-${i}`
      shell.push(await receiver.transfer({ kind: "shell", address, bytes, id }, () => cpuSecondsOf(daemonPid)))
      raw.push(await receiver.transfer({ kind: "tls", port: source.port, bytes }, source.cpu))
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
        "clawkerd: from sending the ShellCommand to its Done, every OutputChunk counted by a gRPC client (the devkit's,",
        "OutputChunk data read in place) in a process of its own, as the CP is; the raw TLS client runs in that process too.",
        "Baseline: a Node process with the agent's certificates pipes `head -c N /dev/zero` into a TLS 1.3 socket to",
        "the CP's client leaf, timed from the handshake to the end of the stream. Rounds alternate; medians.",
        "CPU: user + system seconds of the clawkerd process (all its threads, not the `head` child) and of the",
        "TLS source process over the same span, from /proc/PID/stat, per GiB."
      ]
    }
  }
}
