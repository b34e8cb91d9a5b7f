import { Deferred, Effect, Exit, Runtime } from "effect"
import * as Log from "../../domain/log.js"
import type { ShimFailure, ShimStart } from "../../platform/execShim.js"
import { errnoDescription, spawnThroughShim } from "../../platform/execShim.js"
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

const shimOptions = (req: LaunchRequest): Array<string> => [
  "--setpgid",
  ...(req.foreground ? ["--foreground"] : []),
  "--user",
  `${req.user.uid}:${req.user.gid}:${req.user.groups.join(",")}`
]

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** "exec "prog": no such file or directory (ENOENT)" */
const describeFailure = (failure: ShimFailure, program: string): string => {
  const [name, text] = errnoDescription(failure.errno)
  return `${failure.step} "${program}": ${text} (${name})`
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
    const run = Runtime.runFork(yield* Effect.runtime<never>())
    const exit = yield* Deferred.make<ChildExit>()
    const program = req.argv[0] ?? ""
    const onExit = (pid: number) => (code: number | null, signal: NodeJS.Signals | null) => {
      registry.remove(pid)
      const reclaimError = req.foreground ? reclaimTerminal() : undefined
      if (reclaimError !== undefined) run(Log.warn("tty_foreground_reclaim_failed", { pid, error: reclaimError }))
      Deferred.unsafeDone(exit, Exit.succeed({ code, signal }))
    }
    const pid = yield* Effect.async<number, SpawnError>((resume) => {
      const fail = (message: string) => resume(Effect.fail(new SpawnError({ message })))
      let shim: ShimStart
      try {
        shim = spawnThroughShim(req.argv, shimOptions(req), {
          stdio: ["inherit", "inherit", "inherit"],
          env: req.env,
          cwd: req.cwd
        })
      } catch (e) {
        return fail(`spawn "${program}": ${messageOf(e)}`)
      }
      const child = shim.child
      // Always listened to: an unhandled 'error' event would throw in PID 1.
      child.on("error", (e) => {
        if (child.pid === undefined) fail(`spawn "${program}": ${e.message}`)
      })
      const childPid = child.pid
      if (childPid === undefined) return
      registry.add(childPid)
      child.on("exit", onExit(childPid))
      shim.execd((failure) => {
        if (failure === undefined) return resume(Effect.succeed(childPid))
        child.kill("SIGKILL") // the shim exits on its own after a failure; this covers an unreadable pipe
        fail(describeFailure(failure, program))
      })
    })
    return { pid, exit }
  }).pipe(Effect.uninterruptible)
