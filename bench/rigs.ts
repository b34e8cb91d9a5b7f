import * as fs from "node:fs"
import * as net from "node:net"
import type { DaemonRun } from "../test/support/daemonInNamespace.js"
import { startDaemonInNamespace } from "../test/support/daemonInNamespace.js"
import type { BootstrapFixture } from "../test/support/fixtures.js"
import { bootstrapFixture } from "../test/support/fixtures.js"
import type { Namespaced, NamespaceOptions } from "../test/support/pidns.js"
import { inPidNamespace } from "../test/support/pidns.js"
import type { BenchContext } from "./harness.js"
import { within } from "./harness.js"

/*
 * The e2e harness (test/support/pidns.ts, daemonInNamespace.ts) with the cleanup a benchmark needs:
 * every namespace it starts is ended when the benchmark ends, whatever happened, and killed if the
 * runner itself goes away first.
 */

/** Inits of namespaces still running, killed outright if the runner exits with them alive. */
const live = new Set<number>()
process.on("exit", () => {
  for (const pid of live) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
})

/** Namespaces seen to end: never signal their init's pid again, it may belong to someone else by now. */
const ended = new WeakSet<Namespaced>()

const track = (ns: Namespaced) => {
  void ns.exited.then(() => ended.add(ns))
  void ns.pid().then((pid) => {
    live.add(pid)
    void ns.exited.then(() => live.delete(pid))
  }, () => undefined)
}

/** SIGTERM to the namespace's init, SIGKILL if it is still there after `graceMs`; resolves once it ended. */
export const endNamespace = async (ns: Namespaced, graceMs = 5_000): Promise<void> => {
  const send = (
    signal: NodeJS.Signals
  ) => (ended.has(ns) ? Promise.resolve() : ns.signal(signal).catch(() => undefined))
  await send("SIGTERM")
  await within(ns.exited, graceMs, "namespace init after SIGTERM").catch(() => send("SIGKILL"))
  await ns.exited
}

/** `argv` as PID 1 of a fresh PID namespace, ended with the benchmark. */
export const namespaced = (ctx: BenchContext, argv: ReadonlyArray<string>, options?: NamespaceOptions) => {
  const ns = inPidNamespace(argv, options)
  track(ns)
  ctx.defer(() => endNamespace(ns))
  return ns
}

/** A deployment's certificates and a bootstrap directory, removed with the benchmark. */
export const deployment = async (ctx: BenchContext): Promise<BootstrapFixture> => {
  const fixture = await bootstrapFixture()
  ctx.defer(() => fs.rmSync(fixture.root, { recursive: true, force: true }))
  return fixture
}

export interface DaemonStart {
  readonly userCmd?: ReadonlyArray<string>
  readonly listen?: string
  readonly env?: Readonly<Record<string, string>>
  /** The single binary (dist/clawkerd) instead of `node dist/programs/bin.js`. */
  readonly binary?: string
}

/**
 * The built daemon as PID 1 (the e2e tests' harness), logging at its production default level, and
 * ended with the benchmark: its CP clients closed, then SIGTERM.
 */
export const startDaemon = async (
  ctx: BenchContext,
  fixture: BootstrapFixture,
  options: DaemonStart = {}
): Promise<DaemonRun> => {
  const run = await startDaemonInNamespace({
    bootstrapDir: fixture.dir,
    deployment: fixture.deployment,
    userCmd: options.userCmd ?? ["true"],
    env: { CLAWKERD_LOG_LEVEL: "info", ...ctx.daemonEnv, ...options.env },
    ...(options.listen === undefined ? {} : { listen: options.listen }),
    ...(options.binary === undefined ? {} : { binary: options.binary })
  })
  track(run.ns)
  ctx.defer(async () => {
    await endNamespace(run.ns)
    fs.rmSync(run.stateDir, { recursive: true, force: true })
  })
  ctx.defer(() => run.close())
  return run
}

/** A port nobody listens on right now (bound and released), for a daemon whose port must be known before it starts. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Whether a Debian init is installed; the benchmark skips that baseline (and says so) when not. */
export const installed = (program: string): string | undefined =>
  ["/usr/bin", "/bin", "/usr/local/bin", "/sbin", "/usr/sbin"].map((dir) => `${dir}/${program}`).find((p) =>
    fs.existsSync(p)
  )
