import { Data, Deferred, Effect, Exit } from "effect"
import type { ChildProcess, SpawnOptions, StdioOptions } from "node:child_process"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import type { StageStatus } from "../../domain/shellCommand.js"
import { stageStatus } from "../../domain/shellCommand.js"
import { signalNumber } from "../../domain/signals.js"
import type { PipeStage } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
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

/** Spec: empty env inherits ours unchanged; otherwise ours plus the map, the map winning. uid/gid both 0: no change. */
const spawnOptions = (stage: PipeStage, stdio: StdioOptions): SpawnOptions => {
  const env = Object.keys(stage.env).length > 0 ? { env: { ...process.env, ...stage.env } } : {}
  const cwd = stage.cwd !== "" ? { cwd: stage.cwd } : {}
  // libuv drops the supplementary groups (setgroups(0)) whenever it changes the ids.
  const ids = stage.uid !== 0 || stage.gid !== 0 ? { uid: stage.uid, gid: stage.gid } : {}
  return { stdio, ...env, ...cwd, ...ids }
}

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
    Effect.callback<Stage, SpawnFailed>((resume) => {
      let child: ChildProcess
      try {
        child = spawn(stage.argv[0] ?? "", stage.argv.slice(1), spawnOptions(stage, stdio))
      } catch (e) {
        resume(Effect.fail(new SpawnFailed({ message: errorText(e) })))
        return
      }
      const pid = child.pid
      if (pid !== undefined) registry.add(pid)
      let exited = false
      child.on("exit", (code, signal) => {
        exited = true
        if (pid !== undefined) registry.remove(pid)
        Deferred.doneUnsafe(status, Exit.succeed(stageStatus(code, signal === null ? null : signalNumber(signal))))
      })
      // Write callbacks report stdin errors; without a listener an EPIPE 'error' would be thrown at PID 1.
      child.stdin?.on("error", () => {})
      // Only a failed start emits here: kill() and send() are never used on these children.
      child.on("error", (e) => resume(Effect.fail(new SpawnFailed({ message: describeStartError(stage, e) }))))
      child.once("spawn", () =>
        resume(
          pid === undefined
            ? Effect.fail(new SpawnFailed({ message: "no pid after spawn" }))
            : Effect.succeed({ index, pid, child, status, exited: () => exited })
        ))
    }))

export type Delivery =
  | { readonly _tag: "Sent" }
  | { readonly _tag: "AlreadyExited" }
  | { readonly _tag: "Failed"; readonly error: string }

/** kill(2) to the stage's own pid, never after libuv reaped it (the pid may have been reused). */
export const signalStage = (stage: Stage, signo: number): Delivery => {
  if (stage.exited()) return { _tag: "AlreadyExited" }
  try {
    process.kill(stage.pid, signo)
    return { _tag: "Sent" }
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH"
      ? { _tag: "AlreadyExited" }
      : { _tag: "Failed", error: errorText(e) }
  }
}
