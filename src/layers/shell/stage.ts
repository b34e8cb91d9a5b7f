import { Data, Deferred, Effect, Exit } from "effect"
import type { ChildProcess, SpawnOptions, StdioOptions } from "node:child_process"
import * as fs from "node:fs"
import type { StageStatus } from "../../domain/shellCommand.js"
import { stageStatus } from "../../domain/shellCommand.js"
import { signalNumber } from "../../domain/signals.js"
import type { PipeStage } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import type { ShimFailure, ShimStart } from "../../platform/execShim.js"
import { errnoDescription, spawnThroughShim } from "../../platform/execShim.js"
import type { ProcessRegistryShape } from "../../services/ProcessRegistry.js"
import { errorText } from "./errors.js"

/** One started process of a pipeline. */
export interface Stage {
  readonly index: number
  readonly pid: number
  readonly child: ChildProcess
  /** Completed by libuv's exit callback, i.e. once the pid is reaped. */
  readonly status: Deferred.Deferred<StageStatus>
  /** Set in that same callback: from then on the pid may belong to someone else. */
  readonly exited: () => boolean
}

export class SpawnFailed extends Data.TaggedError("SpawnFailed")<{ readonly message: string }> {}

/** Spec: empty env inherits ours unchanged; otherwise ours plus the map, the map winning. */
const spawnOptions = (stage: PipeStage, stdio: StdioOptions): SpawnOptions & { stdio: StdioOptions } => {
  const env = Object.keys(stage.env).length > 0 ? { env: { ...process.env, ...stage.env } } : {}
  const cwd = stage.cwd !== "" ? { cwd: stage.cwd } : {}
  return { stdio, ...env, ...cwd }
}

/**
 * Each stage leads its own process group, so killing the group reaches what it left running in the
 * background too. uid/gid both 0: no change; else the shim drops to exactly them, no supplementary groups.
 */
const shimOptions = (stage: PipeStage): Array<string> => [
  "--setpgid",
  ...(stage.uid !== 0 || stage.gid !== 0 ? ["--user", `${stage.uid}:${stage.gid}:`] : [])
]

/** "exec "prog": no such file or directory" */
const describeShimFailure = (failure: ShimFailure, program: string): string =>
  `${failure.step} ${JSON.stringify(program)}: ${errnoDescription(failure.errno)[1]}`

/** libuv reports a failed chdir as the same ENOENT as a missing program; say which one it was. */
const describeStartError = (stage: PipeStage, e: unknown): string => {
  if (stage.cwd !== "") {
    try {
      if (!fs.statSync(stage.cwd).isDirectory()) return `chdir ${stage.cwd}: not a directory`
    } catch (statError) {
      return `chdir ${stage.cwd}: ${errorText(statError)}`
    }
  }
  return `exec ${JSON.stringify(stage.argv[0] ?? "")}: ${errorText(e)}`
}

/**
 * Starts one stage and waits for Node's `spawn` or `error` event (start failures arrive asynchronously).
 * The pid is registered before anything else can run, so the Reaper never takes its status, and leaves
 * the registry in the exit callback.
 */
export const spawnStage = (
  index: number,
  stage: PipeStage,
  stdio: StdioOptions,
  registry: ProcessRegistryShape
): Effect.Effect<Stage, SpawnFailed> =>
  Effect.flatMap(Deferred.make<StageStatus>(), (status) =>
    Effect.async<Stage, SpawnFailed>((resume) => {
      let shim: ShimStart
      try {
        shim = spawnThroughShim(stage.argv, shimOptions(stage), spawnOptions(stage, stdio))
      } catch (e) {
        resume(Effect.fail(new SpawnFailed({ message: errorText(e) })))
        return
      }
      const child = shim.child
      const pid = child.pid
      if (pid !== undefined) registry.add(pid)
      let exited = false
      child.on("exit", (code, signal) => {
        exited = true
        if (pid !== undefined) registry.remove(pid)
        Deferred.unsafeDone(status, Exit.succeed(stageStatus(code, signal === null ? null : signalNumber(signal))))
      })
      // Write callbacks report stdin errors; without a listener an EPIPE 'error' would be thrown at PID 1.
      child.stdin?.on("error", () => {})
      // Only a failed start emits here: kill() and send() are never used on these children.
      child.on("error", (e) => resume(Effect.fail(new SpawnFailed({ message: describeStartError(stage, e) }))))
      // Started means exec'd: a program that is missing or not executable is a start failure, not an exit 127.
      child.once("spawn", () =>
        pid === undefined
          ? resume(Effect.fail(new SpawnFailed({ message: "no pid after spawn" })))
          : shim.execd((failure) =>
            resume(
              failure === undefined
                ? Effect.succeed({ index, pid, child, status, exited: () => exited })
                : Effect.fail(new SpawnFailed({ message: describeShimFailure(failure, stage.argv[0] ?? "") }))
            )
          ))
    }))

export type Delivery =
  | { readonly _tag: "Sent" }
  | { readonly _tag: "AlreadyExited" }
  | { readonly _tag: "Failed"; readonly error: string }

/**
 * kill(2) to the stage's process group (pgid = its pid), so what it started in the background gets
 * the signal too. `afterExit`: also once libuv reaped the stage itself, for a command being ended
 * (timeout, teardown, Signal) whose background processes may outlive it. The group id stays reserved
 * while any member lives; once none does, the number is free again but is only reused after the pid
 * counter wraps, and these calls happen only while the command still runs.
 */
export const signalStage = (stage: Stage, signo: number, afterExit = false): Delivery => {
  if (stage.exited() && !afterExit) return { _tag: "AlreadyExited" }
  try {
    process.kill(-stage.pid, signo)
    return { _tag: "Sent" }
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH"
      ? { _tag: "AlreadyExited" }
      : { _tag: "Failed", error: errorText(e) }
  }
}
