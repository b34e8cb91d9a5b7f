import { Deferred, Effect, Exit } from "effect"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { getSystemErrorMap } from "node:util"
import * as Log from "../../domain/log.js"
import { addon, execShimPath } from "../../platform/native.js"
import type { ProcessRegistryShape } from "../../services/ProcessRegistry.js"
import { SpawnError } from "../../services/Supervisor.js"
import type { TargetUser } from "../../services/UserResolver.js"
import { reclaimTerminal } from "./terminal.js"

export interface LaunchRequest {
  readonly argv: ReadonlyArray<string>
  readonly user: TargetUser
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
  /** Make the child's group the foreground group of clawkerd's terminal (and take it back after). */
  readonly foreground: boolean
}

/** Node's account of the child's end, once libuv has reaped it. */
export interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A program that exec'd: its pid is also its process group id. */
export interface Launched {
  readonly pid: number
  readonly exit: Deferred.Deferred<ChildExit>
}

/** The shim's status pipe becomes fd 3 of the shim (stdio index 3). */
const STATUS_FD = 3

const shimArgs = (req: LaunchRequest): Array<string> => [
  "--setpgid",
  ...(req.foreground ? ["--foreground"] : []),
  "--user",
  `${req.user.uid}:${req.user.gid}:${req.user.groups.join(",")}`,
  "--status-fd",
  String(STATUS_FD),
  "--",
  ...req.argv
]

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const errnoText = (errno: number): string => {
  const known = getSystemErrorMap().get(-errno)
  return known === undefined ? `errno ${errno}` : `${known[1]} (${known[0]})`
}

/** The shim writes "<step>:<errno>" when a step before exec, or exec itself, failed. */
const describeFailure = (status: string, program: string): string => {
  const [step = "", errno = ""] = status.trim().split(":")
  return `${step} "${program}": ${errnoText(Number(errno))}`
}

/** Reads the pipe until EOF (exec closed the shim's end, or the shim exited), then closes it. */
const readToEnd = (fd: number, done: (text: string) => void) => {
  const chunks: Array<Buffer> = []
  const next = () =>
    fs.read(fd, Buffer.alloc(256), 0, 256, null, (err, n, buffer) => {
      if (err === null && n > 0) {
        chunks.push(buffer.subarray(0, n))
        return next()
      }
      fs.close(
        fd,
        () => done(err === null ? Buffer.concat(chunks).toString("utf8") : `status pipe:${-(err.errno ?? 0)}`)
      )
    })
  next()
}

/**
 * Spawns the exec shim with libuv (so libuv owns and reaps the pid, which the ProcessRegistry
 * records) and succeeds once the program itself runs: the status pipe reaches EOF with nothing
 * written. Uninterruptible: a child must never start without someone holding its pid.
 */
export const launch = (
  req: LaunchRequest,
  registry: ProcessRegistryShape
): Effect.Effect<Launched, SpawnError> =>
  Effect.gen(function*() {
    const run = Effect.runForkWith(yield* Effect.context<never>())
    const exit = yield* Deferred.make<ChildExit>()
    const program = req.argv[0] ?? ""
    const onExit = (pid: number) => (code: number | null, signal: NodeJS.Signals | null) => {
      registry.remove(pid)
      const reclaimError = req.foreground ? reclaimTerminal() : undefined
      if (reclaimError !== undefined) run(Log.warn("tty_foreground_reclaim_failed", { pid, error: reclaimError }))
      Deferred.doneUnsafe(exit, Exit.succeed({ code, signal }))
    }
    const pid = yield* Effect.callback<number, SpawnError>((resume) => {
      const fail = (message: string) => resume(Effect.fail(new SpawnError({ message })))
      let statusRead: number, statusWrite: number
      try {
        ;[statusRead, statusWrite] = addon.pipe()
      } catch (e) {
        return fail(`status pipe: ${messageOf(e)}`)
      }
      let child: ChildProcess
      try {
        child = spawn(execShimPath, shimArgs(req), {
          stdio: ["inherit", "inherit", "inherit", statusWrite],
          env: req.env,
          cwd: req.cwd
        })
      } catch (e) {
        fs.closeSync(statusRead)
        return fail(`spawn "${program}": ${messageOf(e)}`)
      } finally {
        fs.closeSync(statusWrite)
      }
      // Always listened to: an unhandled 'error' event would throw in PID 1.
      child.on("error", (e) => {
        if (child.pid === undefined) fail(`spawn "${program}": ${e.message}`)
      })
      const childPid = child.pid
      if (childPid === undefined) return fs.closeSync(statusRead)
      registry.add(childPid)
      child.on("exit", onExit(childPid))
      readToEnd(statusRead, (status) => {
        if (status === "") return resume(Effect.succeed(childPid))
        child.kill("SIGKILL") // the shim exits on its own after a failure; this covers an unreadable pipe
        fail(describeFailure(status, program))
      })
    })
    return { pid, exit }
  }).pipe(Effect.uninterruptible)
