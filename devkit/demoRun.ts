import { Metadata } from "@grpc/grpc-js"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Response } from "../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../src/programs/cp/commands.js"
import { connect, CpSession } from "../src/programs/cp/cpClient.js"
import { describeReplies, describeResponse } from "../src/programs/cp/describe.js"
import { NODE_FLAGS } from "../src/programs/nodeFlags.js"
import { startAgentService } from "./agentService.js"
import { mintAssertion, newAssertionSigner } from "./assertion.js"
import { writeBootstrapDir } from "./bootstrapDir.js"
import type { LogEvent } from "./daemonLog.js"
import { listenerPort, readLogEvents } from "./daemonLog.js"
import { startOAuthServer } from "./oauthServer.js"
import type { OtlpReceiver } from "./otlpReceiver.js"
import { renderTrace } from "./otlpTrace.js"
import { mintDeployment } from "./pki.js"
import { Timeline } from "./timeline.js"

/*
 * The whole clawkerd lifecycle on one machine with nothing set up: a throwaway CA and bootstrap
 * directory, a real OAuth2 server standing in for Hydra, a demo control plane, and clawkerd itself
 * (PID 1 of a fresh PID namespace when run as root, a child subreaper otherwise) driven through
 * Hello, Register, init steps, AgentInitialized and AgentReady to the user CMD's exit. With an OTLP
 * receiver, clawkerd exports to it and the CP's Session carries a trace context, so the boot is one trace.
 */

/* eslint-disable no-console -- this program's output is its console */

/** The built daemon (npm run demo builds it first). */
const BUILT_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist", "programs", "bin.js")
const CONTAINER = "0123456789ab"
const USER_CMD = [
  "sh",
  "-c",
  "echo \"user CMD running as uid $(id -u) in pgid $(ps -o pgid= -p $$ | tr -d ' ')\"; exit 0"
]

const isRoot = process.getuid?.() === 0
const canUnshare = isRoot && fs.existsSync("/usr/bin/unshare")

const section = (title: string) => console.log(`\n── ${title} ${"─".repeat(Math.max(0, 70 - title.length))}`)

const launch = (bin: string, env: Record<string, string>) => {
  const node = [process.execPath, ...NODE_FLAGS, bin, ...USER_CMD]
  const [command, ...args] = canUnshare ? ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", ...node] : node
  const child = spawn(command!, args, { env, stdio: ["ignore", "pipe", "pipe"] })
  const prefix = (stream: NodeJS.ReadableStream, label: string) => {
    let partial = ""
    stream.setEncoding("utf8")
    stream.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n")
      partial = lines.pop() ?? ""
      for (const line of lines) console.log(`  ${label} │ ${line}`)
    })
  }
  prefix(child.stdout, "clawkerd console")
  prefix(child.stderr, "clawkerd stderr ")
  let gone = false
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      gone = true
      resolve(code)
    })
  )
  return { child, exited, gone: () => gone }
}

/** The CP's own trace: the Session it opens carries it (W3C traceparent in the gRPC metadata). */
export const DEMO_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

export interface DemoOptions {
  readonly otlp?: OtlpReceiver
  readonly bin?: string
}

/** clawkerd's exit code (null: killed) and its log, read before the demo's directory is removed. */
export interface DemoRun {
  readonly code: number | null
  readonly events: ReadonlyArray<LogEvent>
}

export const runDemo = async (options: DemoOptions = {}): Promise<DemoRun> => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "clawkerd-demo-"))
  const cleanups: Array<() => Promise<void> | void> = [() => fs.rmSync(work, { recursive: true, force: true })]
  try {
    section("1. throwaway PKI and bootstrap material (what the host CLI drops into the container)")
    const deployment = await mintDeployment("demo-agent", "demo", CONTAINER)
    const signer = await newAssertionSigner()
    const oauth = await startOAuthServer({ serverCert: deployment.cpServer, clientJwk: signer.publicJwk })
    cleanups.unshift(() => oauth.close())
    const cp = await startAgentService({ deployment, verifyToken: (token) => oauth.verifyAccessToken(token) })
    cleanups.unshift(() => cp.close())
    const bootstrapDir = path.join(work, "bootstrap")
    await writeBootstrapDir(bootstrapDir, deployment, await mintAssertion(signer, oauth.tokenEndpoint))
    console.log(`  bootstrap dir    ${bootstrapDir} (cert.pem, key.pem, ca.pem, assertion.jwt)`)
    console.log(`  OAuth2 (Hydra)   ${oauth.tokenEndpoint}`)
    console.log(`  CP AgentService  ${cp.address}`)

    section(`2. clawkerd ${canUnshare ? "as PID 1 of a new PID namespace" : "as a child subreaper (not root)"}`)
    const logFile = path.join(work, "log", "clawkerd.log")
    const daemon = launch(options.bin ?? BUILT_BIN, {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      CLAWKER_AGENT: "demo-agent",
      CLAWKER_PROJECT: "demo",
      CLAWKER_USER: isRoot ? "nobody" : String(process.getuid?.() ?? 0),
      CLAWKER_CP_HYDRA_URL: oauth.url,
      CLAWKER_CP_AGENT_ADDR: cp.address,
      CLAWKERD_LISTEN: "127.0.0.1:0",
      CLAWKERD_BOOTSTRAP_DIR: bootstrapDir,
      CLAWKERD_LOG_DIR: path.dirname(logFile),
      CLAWKERD_INIT_MARKER: path.join(work, "state", "agent-initialized"),
      CLAWKERD_READY_FILE: path.join(work, "run", "ready"),
      ...(options.otlp === undefined ? {} : {
        OTEL_EXPORTER_OTLP_ENDPOINT: options.otlp.url,
        OTEL_RESOURCE_ATTRIBUTES: "agent=demo-agent,project=demo,deployment.environment=demo"
      })
    })
    cleanups.unshift(() => void (daemon.gone() || daemon.child.kill("SIGKILL")))
    const port = await listenerPort(logFile, daemon.gone)
    console.log(`  listening on 127.0.0.1:${port} (mTLS, TLS 1.3, peer CN pinned to clawker-controlplane)`)

    section("3. the control plane's Session")
    const client = connect(`127.0.0.1:${port}`, {
      caPem: deployment.ca.certPem,
      certPem: deployment.cpClient.certPem,
      keyPem: deployment.cpClient.keyPem
    })
    cleanups.unshift(() => client.close())
    const metadata = new Metadata()
    if (options.otlp !== undefined) metadata.set("traceparent", DEMO_TRACEPARENT)
    const session = CpSession.open(client, metadata)
    const timeline = new Timeline()
    const one = (command: ReturnType<typeof C.hello>, label: string) =>
      timeline.step(label, () => session.request(command), describeResponse)
    const shell = (command: ReturnType<typeof C.hello>, label: string) =>
      timeline.step(label, () => {
        session.send(command)
        return session.collectUntilTerminal(command.commandId)
      }, (replies: ReadonlyArray<Response>) => describeReplies(replies))

    await one(C.hello("hello-1"), "Hello")
    await one(C.registerRequired("register-1"), "RegisterRequired")
    await shell(
      C.sh(`init-${CONTAINER}-config-1`, "echo seeding agent config; echo 'a warning on stderr' >&2", {
        printOutput: true
      }),
      "ShellCommand init config (sh -c, print_output)"
    )
    await shell(
      C.shell(`init-${CONTAINER}-git-2`, [C.stage(["printf", "b\\na\\n"]), C.stage(["sort"]), C.stage(["wc", "-l"])]),
      "ShellCommand init git (printf | sort | wc -l)"
    )
    await one(C.agentInitialized("initialized-1"), "AgentInitialized")
    await one(C.hello("hello-2"), "Hello")
    await one(C.agentReady("ready-1"), "AgentReady")
    const code = await daemon.exited

    section("4. timeline")
    console.log(timeline.render())
    section("5. what the control plane's AgentService saw")
    for (const call of cp.calls) {
      console.log(`  Register{agent_name=${call.agentName}, project=${call.project}} from ${call.uriSan ?? "?"}`)
      console.log(`    peer thumbprint ${call.thumbprint ?? "?"}, bearer token valid: ${call.tokenValid}`)
    }
    section("6. clawkerd's log (JSON lines), events only")
    const events = readLogEvents(logFile)
    console.log(`  ${events.map((e) => e.event).join(" → ")}`)
    if (options.otlp !== undefined) {
      section(`7. what clawkerd exported over OTLP (${options.otlp.url})`)
      console.log(renderTrace(options.otlp))
    }
    section(`clawkerd exited with ${String(code)}`)
    return { code, events }
  } finally {
    for (const cleanup of cleanups) await cleanup()
  }
}
