import * as grpc from "@grpc/grpc-js"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { writeBootstrapDir } from "../../devkit/bootstrapDir.js"
import { mintLeaf } from "../../devkit/pki.js"
import { Command } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../../src/programs/cp/commands.js"
import { daemonsOfFile } from "../support/daemonsOfFile.js"
import { tempDir } from "../support/fixtures.js"
import { isRoot, pidNamespaceUnavailable } from "../support/pidns.js"

/*
 * How a CP's Session ends when clawkerd shuts down: UNAVAILABLE (or CANCELLED), as the reference's
 * force-close ends it, never INTERNAL, for grpc-js (clawkerd-cp's client) and for gRPC's C core (Debian's
 * python3-grpcio: the client of Python and of the other languages built on it).
 */

const unavailable = pidNamespaceUnavailable()
if (unavailable !== undefined) console.warn(`skipping Session end e2e tests: ${unavailable}`)
const daemons = daemonsOfFile(unavailable)

/** Debian's Python with its grpcio, or why not. */
const PYTHON = "/usr/bin/python3"
const cCoreMissing = spawnSync(PYTHON, ["-c", "import grpc"], { encoding: "utf8" }).status === 0
  ? undefined
  : "Debian's python3-grpcio is not installed (apt-get install python3-grpcio; .ci/run does)"
if (cCoreMissing !== undefined && !isRoot) {
  console.warn(`skipping the C-core client's Session end test: ${cCoreMissing}`)
}

const ENDED_AS_REFERENCE = [grpc.status.UNAVAILABLE, grpc.status.CANCELLED]

/** A Session through the C core: sends the frames, prints "ready" after two replies, then the status it ends with. */
const C_CORE_CLIENT = `
import os, sys, threading, grpc
ca, cert, key, addr, *frames = sys.argv[1:]
creds = grpc.ssl_channel_credentials(open(ca, "rb").read(), open(key, "rb").read(), open(cert, "rb").read())
channel = grpc.secure_channel(addr, creds, options=[("grpc.ssl_target_name_override", "clawker-clawkerd")])
def commands():
    for frame in frames:
        yield bytes.fromhex(frame)
    threading.Event().wait()
call = channel.stream_stream("/clawker.clawkerd.v1.ClawkerdService/Session")(commands())
try:
    for n, _ in enumerate(call, 1):
        if n == 2:
            print("ready", flush=True)
    print("status", call.code().name, flush=True)
except grpc.RpcError as e:
    print("status", e.code().name, e.details(), flush=True)
os._exit(0)
`

const SESSIONS = 6

/** Hello, then a command still running at shutdown: its Started is the second reply. */
const frames = [C.hello("h"), C.sh("busy", "sleep 300")]

describe.skipIf(unavailable !== undefined)("a Session torn down at shutdown", () => {
  it("grpc-js: idle Sessions, Sessions with a command running, with and without the user CMD running: UNAVAILABLE or CANCELLED", async () => {
    for (const spawned of [false, true]) {
      const d = await daemons.start(["sleep", "1000"])
      // Each on a connection of its own, as the CP's reconnects: the old order ended most of them INTERNAL.
      const sessions = await Promise.all(Array.from({ length: SESSIONS }, () => d.session()))
      for (const [i, session] of sessions.entries()) {
        expect((await session.request(C.hello("h"))).payload?.$case).toBe("helloAck")
        if (i % 2 === 1) continue
        session.send(frames[1]!)
        expect((await session.next("busy")).payload?.$case).toBe("started")
      }
      if (spawned) expect((await sessions[1]!.request(C.agentReady("ready"))).payload?.$case).toBe("done")
      await d.ns.signal("SIGTERM")
      for (const session of sessions) {
        const end = await session.ended
        expect(ENDED_AS_REFERENCE, `${end.code} ${end.details}`).toContain(end.code)
      }
      expect((await d.ns.exited).code).toBe(spawned ? 143 : 1)
      expect(d.events("uncaught_exception")).toEqual([])
    }
  })

  it.skipIf(cCoreMissing !== undefined && !isRoot)(
    "gRPC's C core (python3-grpcio): a Session with a command running ends UNAVAILABLE or CANCELLED",
    async () => {
      if (cCoreMissing !== undefined) throw new Error(cCoreMissing)
      const { assertion, deployment } = daemons.cp()
      const dir = await tempDir("clawkerd-c-core-")
      // The C core checks the server's name against a DNS name of its certificate, which the agent leaf
      // (URI names only) has none of, and it cannot skip the check as the CP does (it pins the thumbprint).
      const agent = await mintLeaf(deployment.ca, { cn: "clawker-clawkerd", dns: ["clawker-clawkerd"] })
      const bootstrapDir = path.join(dir, "bootstrap")
      await writeBootstrapDir(bootstrapDir, { ...deployment, agent }, assertion)
      const d = await daemons.start(["sleep", "1000"], { bootstrapDir })
      const files = { ca: deployment.ca.certPem, cert: deployment.cpClient.certPem, key: deployment.cpClient.keyPem }
      for (const [name, pem] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), pem)
      const args = [
        "-c",
        C_CORE_CLIENT,
        ...["ca", "cert", "key"].map((name) => path.join(dir, name)),
        `127.0.0.1:${await d.port()}`,
        ...frames.map((frame) => Buffer.from(Command.encode(frame).finish()).toString("hex"))
      ]
      const clients = Array.from({ length: SESSIONS / 2 }, () => {
        const client = spawn(PYTHON, args, { stdio: ["ignore", "pipe", "pipe"] })
        const run = { out: "", err: "", closed: new Promise<void>((resolve) => client.on("close", () => resolve())) }
        client.stdout.on("data", (b) => (run.out += b))
        client.stderr.on("data", (b) => (run.err += b))
        return { client, run }
      })
      const deadline = Date.now() + 30_000
      while (!clients.every(({ run }) => run.out.includes("ready\n"))) {
        const failed = clients.find(({ client }) => client.exitCode !== null)
        if (Date.now() > deadline || failed !== undefined) {
          throw new Error(`no Session: ${clients.map(({ run }) => `${run.out} ${run.err}`).join("; ")}`)
        }
        await new Promise((r) => setTimeout(r, 10))
      }
      await d.ns.signal("SIGTERM")
      for (const { run } of clients) {
        await run.closed
        expect(run.out).toMatch(/^ready\nstatus (UNAVAILABLE|CANCELLED)\b/)
      }
      expect((await d.ns.exited).code).toBe(1)
    }
  )
})
