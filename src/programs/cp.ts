#!/usr/bin/env node
import { Data, Result } from "effect"
import * as fs from "node:fs"
import { constants } from "node:os"
import type { Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { parseGroup, parsePasswd, resolveExecUserSpec } from "../layers/supervisor/passwd.js"
import { errorMessage } from "../lib/errorText.js"
import * as C from "./cp/commands.js"
import type { ExecArgs } from "./cp/cpArgs.js"
import { parseCpArgs } from "./cp/cpArgs.js"
import { connect, CpSession, outputOf } from "./cp/cpClient.js"
import { describeResponse } from "./cp/describe.js"
import { packageVersion } from "./version.js"

/* eslint-disable no-console -- a command-line tool */

const USAGE = `usage: clawkerd-cp --addr HOST:PORT --ca CA.pem --cert CERT.pem --key KEY.pem [--agent-cn CN] COMMAND
       clawkerd-cp --version

Opens a Session to a running clawkerd as the control plane (the certificate must be a CP client
certificate: CN clawker-controlplane, clientAuth, issued by the agent's CA).

commands:
  hello                            print HelloAck
  exec [OPTIONS] [--] ARGV...      run ARGV like docker exec: stream its output, forward Ctrl-C,
                                   exit with its code (128+n when killed by signal n)
      -i, --interactive            forward stdin (a terminal too) until EOF; without it stdin is closed
      -e, --env KEY=VAL            set a variable (repeatable; KEY alone passes ours when set)
      -u, --user NAME|UID[:GROUP|GID]
                                   run as that user, looked up in the container's /etc/passwd and
                                   /etc/group as docker exec -u does (no supplementary groups)
      -w, --workdir DIR            working directory (absolute)
      --timeout S                  kill it after S seconds (exit 124)
                                   Its stdout and stderr arrive merged on our stdout: the protocol
                                   carries one output stream.
  init-done                        send AgentInitialized (writes the init marker)
  ready [--default-cmd CMD]        send AgentReady (spawns the user CMD)
  register                         send RegisterRequired

--addr, --ca, --cert and --key may also come from the environment: CLAWKERD_CP_ADDR, CLAWKERD_CP_CA,
CLAWKERD_CP_CERT, CLAWKERD_CP_KEY. Usage errors exit 2.`

/** Exit codes for a command that never produced a status, shell-style. */
const CODE_OF_ERROR: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.ERROR_CODE_SPAWN_FAILED]: 127,
  [ErrorCode.ERROR_CODE_TIMEOUT]: 124
}

/** What a shell reports for a command that cannot be run (docker exec's for an unknown user). */
const CANNOT_RUN = 126

/** A reader that closed our stdout (`| head`) ends us as SIGPIPE ends a shell pipeline's writer. */
const CLOSED_STDOUT = 128 + constants.signals.SIGPIPE

/** How long a closing Session may take to reach the agent before we exit anyway. */
const CLOSE_GRACE_MS = 2000

/** Ends the CLI with `code` after printing `message` on stderr. */
class CpExit extends Data.TaggedError("CpExit")<{ readonly code: number; readonly message: string }> {}

const usageError = (message: string) => new CpExit({ code: 2, message: `${message}\n${USAGE}` })

const single = async (session: CpSession, command: ReturnType<typeof C.hello>) => {
  const reply = await session.request(command)
  console.log(describeResponse(reply))
  return reply.payload?.$case === "error" || (reply.payload?.$case === "registerDone" && !reply.payload.value.ok)
    ? 1
    : 0
}

/** A file of the container, as docker reads /etc/passwd there; a missing one reads as empty. */
const containerFile = async (session: CpSession, file: string): Promise<string> => {
  const id = `cp-read-${file}-${process.pid}`
  session.send(C.shell(id, [C.stage(["cat", file])]))
  session.send(C.closeStdin(id))
  const replies = await session.collectUntilTerminal(id)
  const last = replies.at(-1)?.payload
  return last?.$case === "done" && last.value.finalExitCode === 0 ? outputOf(replies).toString("utf8") : ""
}

const resolveUser = async (session: CpSession, spec: string) => {
  const group = spec.split(":")[1] ?? ""
  const passwd = parsePasswd(await containerFile(session, "/etc/passwd"))
  const groups = /^[+-]?\d*$/.test(group) ? [] : parseGroup(await containerFile(session, "/etc/group"))
  const user = resolveExecUserSpec(spec, passwd, groups)
  if (Result.isFailure(user)) throw new CpExit({ code: CANNOT_RUN, message: `--user ${spec}: ${user.failure}` })
  const { gid, uid } = user.success
  if ((uid === 0) !== (gid === 0)) {
    // clawkerd refuses half a privilege drop (uid without gid or the reverse) rather than keep root's half.
    throw new CpExit({
      code: CANNOT_RUN,
      message: `--user ${spec} is uid ${uid} gid ${gid}: clawkerd runs a command as root or with both ids non-zero; ` +
        "give a non-zero group as well (UID:GID)"
    })
  }
  return user.success
}

/**
 * Stdin to the command at the pace the Session's stream takes it; EOF (or a read error) closes it.
 * `stop`: clawkerd closed the command's stdin on its own (it stopped reading, or a write failed).
 */
const forwardStdin = (session: CpSession, id: string) => {
  const stdin = process.stdin
  const forward = (chunk: Buffer) => {
    if (!session.send(C.stdin(id, chunk))) {
      stdin.pause()
      session.call.once("drain", () => stdin.resume())
    }
  }
  const close = () => session.send(C.closeStdin(id))
  stdin.on("data", forward)
  stdin.once("end", close)
  stdin.once("error", close)
  return {
    stop: () => {
      stdin.off("data", forward)
      stdin.off("end", close)
      stdin.pause()
    }
  }
}

/**
 * Replies to our Stdin frames, not the command's end (spec session.md §3): after the command ended,
 * or once clawkerd closed its stdin itself; the command's own Error or Done follows.
 */
const answersStdin = (code: ErrorCode, message: string) =>
  code === ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID ||
  (code === ErrorCode.ERROR_CODE_INVALID_REQUEST && message.startsWith("stdin:"))

/** Output at the pace our stdout takes it; a closed stdout signals the command and ends us quietly. */
const writeOutput = (session: CpSession, id: string) => {
  let gone = false
  const closed = new Promise<number>((resolve, reject) =>
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (gone) return
      gone = true
      session.call.resume()
      if (e.code !== "EPIPE") return reject(new CpExit({ code: 1, message: `stdout: ${e.message}` }))
      session.send(C.signal(id, constants.signals.SIGPIPE))
      resolve(CLOSED_STDOUT)
    })
  )
  const write = (data: Uint8Array) => {
    if (!gone && !process.stdout.write(data)) {
      session.call.pause()
      process.stdout.once("drain", () => session.call.resume())
    }
  }
  return { closed, write }
}

/** Runs one ShellCommand as `docker exec` does: live output, stdin with -i, Ctrl-C forwarded. */
const exec = async (session: CpSession, args: ExecArgs): Promise<number> => {
  const id = `cp-exec-${process.pid}`
  const user = args.user === undefined ? undefined : await resolveUser(session, args.user)
  const env = user === undefined || "HOME" in args.env ? args.env : { HOME: user.home, ...args.env }
  session.send(C.shell(id, [C.stage(args.argv, { uid: user?.uid ?? 0, gid: user?.gid ?? 0, cwd: args.workdir, env })], {
    timeoutSeconds: args.timeoutSeconds
  }))
  process.on("SIGINT", () => session.send(C.signal(id, constants.signals.SIGINT)))
  const stdin = args.interactive ? forwardStdin(session, id) : undefined
  if (stdin === undefined) session.send(C.closeStdin(id))
  const output = writeOutput(session, id)
  const replies = async () => {
    let lastSignal = 0
    for (;;) {
      const reply: Response = await session.next(id, 24 * 3600 * 1000)
      const payload = reply.payload
      if (payload?.$case === "output") output.write(payload.value.data)
      else if (payload?.$case === "stageExit") lastSignal = payload.value.signo
      else if (payload?.$case === "done") {
        return payload.value.finalExitCode >= 0 ? payload.value.finalExitCode : 128 + lastSignal
      } else if (payload?.$case === "error") {
        if (!answersStdin(payload.value.code, payload.value.message)) {
          console.error(`clawkerd-cp: ${describeResponse(reply)}`)
          return CODE_OF_ERROR[payload.value.code] ?? 1
        }
        stdin?.stop()
      }
    }
  }
  return Promise.race([replies(), output.closed])
}

const readPem = (flag: string, file: string) => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch (e) {
    throw new CpExit({ code: 2, message: `--${flag} ${file}: ${errorMessage(e)}` })
  }
}

const main = async () => {
  const parsed = parseCpArgs(process.argv.slice(2), process.env)
  if (Result.isFailure(parsed)) throw usageError(parsed.failure)
  const args = parsed.success
  if (args._tag === "Version") {
    console.log(`clawkerd-cp ${packageVersion()}`)
    return 0
  }
  if (args._tag === "Help") {
    console.log(USAGE)
    return 0
  }
  const credentials = {
    caPem: readPem("ca", args.files.ca),
    certPem: readPem("cert", args.files.cert),
    keyPem: readPem("key", args.files.key)
  }
  const client = connect(args.addr, credentials, args.agentCn === undefined ? {} : { agentCn: args.agentCn })
  const session = CpSession.open(client)
  try {
    switch (args.verb) {
      case "hello":
        return await single(session, C.hello("cp-hello"))
      case "init-done":
        return await single(session, C.agentInitialized("cp-init-done"))
      case "ready":
        return await single(session, C.agentReady("cp-ready", args.defaultCmd))
      case "register":
        return await single(session, C.registerRequired("cp-register"))
      case "exec":
        return await exec(session, args.exec)
    }
  } finally {
    // Half-close and let clawkerd end the Session, so a Signal just sent is delivered before we exit.
    session.close()
    await Promise.race([session.ended, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())])
    client.close()
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof CpExit) {
      console.error(`clawkerd-cp: ${error.message}`)
      process.exit(error.code)
    }
    console.error(`clawkerd-cp: ${errorMessage(error)}`)
    process.exit(1)
  }
)
