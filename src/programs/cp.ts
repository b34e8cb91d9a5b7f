#!/usr/bin/env node
import * as fs from "node:fs"
import { parseArgs } from "node:util"
import * as C from "../devkit/commands.js"
import { connect, CpSession } from "../devkit/cpClient.js"
import { describeResponse } from "../devkit/describe.js"
import type { Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { packageVersion } from "./version.js"

/* eslint-disable no-console -- a command-line tool */

const USAGE = `usage: clawkerd-cp --addr HOST:PORT --ca CA.pem --cert CERT.pem --key KEY.pem [--agent-cn CN] COMMAND
       clawkerd-cp --version

Opens a Session to a running clawkerd as the control plane (the certificate must be a CP client
certificate: CN clawker-controlplane, clientAuth, issued by the agent's CA).

commands:
  hello                            print HelloAck
  exec [--uid N --gid N] [--cwd DIR] [--timeout S] -- ARGV...
                                   run ARGV, stream its output, forward stdin and Ctrl-C,
                                   exit with its code (128+n when killed by signal n)
  init-done                        send AgentInitialized (writes the init marker)
  ready [--default-cmd CMD]        send AgentReady (spawns the user CMD)
  register                         send RegisterRequired

Each flag may also come from the environment: CLAWKERD_CP_ADDR, CLAWKERD_CP_CA, CLAWKERD_CP_CERT,
CLAWKERD_CP_KEY.`

/** Exit codes for a command that never produced a status, shell-style. */
const CODE_OF_ERROR: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.ERROR_CODE_SPAWN_FAILED]: 127,
  [ErrorCode.ERROR_CODE_TIMEOUT]: 124
}

const fail = (message: string): never => {
  console.error(`clawkerd-cp: ${message}`)
  process.exit(2)
}

const single = async (session: CpSession, command: ReturnType<typeof C.hello>) => {
  const reply = await session.request(command)
  console.log(describeResponse(reply))
  return reply.payload?.$case === "error" || (reply.payload?.$case === "registerDone" && !reply.payload.value.ok)
    ? 1
    : 0
}

/** Runs one ShellCommand as a terminal user expects: live output, stdin forwarded, Ctrl-C forwarded. */
const exec = async (
  session: CpSession,
  argv: ReadonlyArray<string>,
  flags: { readonly uid?: string; readonly gid?: string; readonly cwd?: string; readonly timeout?: string }
) => {
  if (argv.length === 0) fail("exec needs a command after --")
  const id = `cp-exec-${process.pid}`
  session.send(C.shell(id, [C.stage(argv, {
    uid: Number(flags.uid ?? 0),
    gid: Number(flags.gid ?? 0),
    cwd: flags.cwd ?? ""
  })], { timeoutSeconds: Number(flags.timeout ?? 0) }))
  process.on("SIGINT", () => session.send(C.signal(id, 2)))
  if (!process.stdin.isTTY) {
    process.stdin.on("data", (chunk: Buffer) => session.send(C.stdin(id, chunk)))
    process.stdin.on("end", () => session.send(C.closeStdin(id)))
  } else {
    session.send(C.closeStdin(id))
  }
  let lastSignal = 0
  for (;;) {
    const reply: Response = await session.next(id, 24 * 3600 * 1000)
    const payload = reply.payload
    if (payload?.$case === "output") process.stdout.write(payload.value.data)
    else if (payload?.$case === "stageExit") lastSignal = payload.value.signo
    else if (payload?.$case === "done") {
      return payload.value.finalExitCode >= 0 ? payload.value.finalExitCode : 128 + lastSignal
    } else if (payload?.$case === "error") {
      console.error(`clawkerd-cp: ${describeResponse(reply)}`)
      if (payload.value.code !== ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID) return CODE_OF_ERROR[payload.value.code] ?? 1
    }
  }
}

const main = async () => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      addr: { type: "string", default: process.env.CLAWKERD_CP_ADDR },
      ca: { type: "string", default: process.env.CLAWKERD_CP_CA },
      cert: { type: "string", default: process.env.CLAWKERD_CP_CERT },
      key: { type: "string", default: process.env.CLAWKERD_CP_KEY },
      "agent-cn": { type: "string" },
      uid: { type: "string" },
      gid: { type: "string" },
      cwd: { type: "string" },
      timeout: { type: "string" },
      "default-cmd": { type: "string", default: "" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" }
    }
  })
  const [verb, ...argv] = positionals
  if (values.version === true) {
    console.log(`clawkerd-cp ${packageVersion()}`)
    return 0
  }
  if (values.help === true || verb === undefined) {
    console.log(USAGE)
    return values.help === true ? 0 : 2
  }
  const read = (name: "ca" | "cert" | "key") => {
    const file = values[name]
    if (file === undefined) return fail(`--${name} is required`)
    try {
      return fs.readFileSync(file, "utf8")
    } catch (e) {
      return fail(`--${name} ${file}: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  if (values.addr === undefined) return fail("--addr is required")
  const client = connect(values.addr, { caPem: read("ca"), certPem: read("cert"), keyPem: read("key") }, {
    ...(values["agent-cn"] === undefined ? {} : { agentCn: values["agent-cn"] })
  })
  const session = CpSession.open(client)
  try {
    switch (verb) {
      case "hello":
        return await single(session, C.hello("cp-hello"))
      case "init-done":
        return await single(session, C.agentInitialized("cp-init-done"))
      case "ready":
        return await single(session, C.agentReady("cp-ready", values["default-cmd"]))
      case "register":
        return await single(session, C.registerRequired("cp-register"))
      case "exec":
        return await exec(session, argv, values)
      default:
        return fail(`unknown command "${verb}"\n${USAGE}`)
    }
  } finally {
    session.close()
    client.close()
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`clawkerd-cp: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
)
