import { Deferred, Effect, Exit } from "effect"
import * as fs from "node:fs"
import { errorMessage } from "../../lib/errorText.js"
import * as Log from "../../lib/log.js"
import { spawnChild } from "../../platform/children.js"
import { shimArgv } from "../../platform/execShim.js"
import { addon, execShimPath } from "../../platform/native.js"
import { parseShimStatus, readShimStatus } from "../../platform/shimStatus.js"
import { reclaimTerminal } from "../../platform/terminal.js"
import type { ProcessRegistryShape } from "../../services/ProcessRegistry.js"
import { SpawnError } from "../../services/Supervisor.js"
import type { TargetUser } from "../../services/UserResolver.js"

export interface LaunchRequest {
  readonly argv: ReadonlyArray<string>
  /** The file to execve: argv[0] found on clawkerd's PATH, or argv[0] itself when it has a "/". */
  readonly file: string
  readonly user: TargetUser
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
  /** Make the child's group the foreground group of clawkerd's terminal (and take it back after). */
  readonly foreground: boolean
}

/** The kernel's account of the child's end (waitid), once it is reaped: exit status or signal number. */
export interface ChildExit {
  readonly code: number | null
  readonly signal: number | null
}

/** A program that exec'd: its pid is also its process group id. */
export interface Launched {
  readonly pid: number
  readonly exit: Deferred.Deferred<ChildExit>
}

const shimFlags = (req: LaunchRequest): Array<string> => [
  "--setpgid",
  ...(req.foreground ? ["--foreground"] : []),
  "--user",
  `${req.user.uid}:${req.user.gid}:${req.user.groups.join(",")}`
]

/** The shim's "<step>:<errno>" as the reference's `clawkerd: spawn "<path>": fork/exec <path>: <reason>`. */
const describeFailure = (status: string, file: string): string => {
  const { reason, step } = parseShimStatus(status)
  return `clawkerd: spawn ${JSON.stringify(file)}: ${step === "exec" ? `fork/exec ${file}` : step}: ${reason}`
}

/**
 * Spawns the exec shim (addon posix_spawn, reaped by pid with waitid, so the status is the kernel's)
 * and succeeds once the program itself runs: the status pipe reaches EOF with nothing written. The
 * ProcessRegistry holds the pid until it is reaped, so the Reaper never takes it. Uninterruptible: a
 * child must never start without someone holding its pid.
 */
export const launch = (
  req: LaunchRequest,
  registry: ProcessRegistryShape
): Effect.Effect<Launched, SpawnError> =>
  Effect.gen(function*() {
    const run = Effect.runForkWith(yield* Effect.context<never>())
    const exit = yield* Deferred.make<ChildExit>()
    const onExit = (pid: number) => (status: ChildExit) => {
      registry.remove(pid)
      const reclaimError = req.foreground ? reclaimTerminal() : undefined
      if (reclaimError !== undefined) run(Log.warn("tty_foreground_reclaim_failed", { pid, error: reclaimError }))
      Deferred.doneUnsafe(exit, Exit.succeed({ code: status.code, signal: status.signal }))
    }
    const pid = yield* Effect.callback<number, SpawnError>((resume) => {
      const fail = (message: string) => resume(Effect.fail(new SpawnError({ message })))
      let statusRead: number, statusWrite: number
      try {
        ;[statusRead, statusWrite] = addon.pipe()
      } catch (e) {
        return fail(`status pipe: ${errorMessage(e)}`)
      }
      let childPid: number
      try {
        childPid = spawnChild(
          execShimPath,
          shimArgv(shimFlags(req), req.file, req.argv),
          req.env,
          [0, 1, 2, statusWrite],
          req.cwd,
          (status) => onExit(childPid)(status)
        )
      } catch (e) {
        fs.closeSync(statusRead)
        return fail(`clawkerd: spawn ${JSON.stringify(req.file)}: ${errorMessage(e)}`)
      } finally {
        fs.closeSync(statusWrite)
      }
      registry.add(childPid)
      readShimStatus(statusRead, (status) => {
        if (status === "") return resume(Effect.succeed(childPid))
        // The shim exits on its own after a failure; this covers an unreadable pipe (never a reaped pid).
        if (registry.owns(childPid)) process.kill(childPid, "SIGKILL")
        fail(describeFailure(status, req.file))
      })
    })
    return { pid, exit }
  }).pipe(Effect.uninterruptible)
