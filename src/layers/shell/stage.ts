import { Data, Deferred, Effect, Exit, Result } from "effect"
import * as fs from "node:fs"
import type { PipeStage } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { childEnvironment } from "../../lib/childEnv.js"
import { errnoText } from "../../lib/errorText.js"
import { releaseChild, spawnChild } from "../../platform/children.js"
import { execEnvironment } from "../../platform/execEnvironment.js"
import { shimArgv } from "../../platform/execShim.js"
import { lookPath } from "../../platform/lookPath.js"
import { addon, execShimPath } from "../../platform/native.js"
import { parseShimStatus, readShimStatus } from "../../platform/shimStatus.js"
import type { ProcessRegistryShape } from "../../services/ProcessRegistry.js"
import type { StageStatus } from "../../wire/shellCommand.js"
import { stageStatus } from "../../wire/shellCommand.js"

/** One started process of a pipeline. */
export interface Stage {
  readonly index: number
  readonly pid: number
  /** Completed once the pid is reaped (waitid, by pid): the kernel's status, real-time signals included. */
  readonly status: Deferred.Deferred<StageStatus>
  /** Set when it is reaped: from then on the pid may belong to someone else. */
  readonly exited: () => boolean
  /** Ends the hold it was started with (StageStart): it is reaped once it exits. */
  readonly release: () => void
}

/**
 * Where a stage goes. A pipeline is one process group, as a shell makes a job: the first stage leads
 * it (taking the terminal's foreground when clawkerd lends it, src/platform/terminal.ts), the others
 * join it. `hold`: the stage is not reaped before `release`, so the group stays joinable while later
 * stages start, though its leader already exited.
 */
export type StageStart =
  | { readonly _tag: "Lead"; readonly foreground: boolean; readonly hold: boolean }
  | { readonly _tag: "Join"; readonly pgid: number; readonly hold: boolean }

export class SpawnFailed extends Data.TaggedError("SpawnFailed")<{ readonly message: string }> {}

/** The stage's fds 0, 1 and 2 in the parent; the child gets them as its own (ordinary pipes, never sockets). */
export type StageFds = readonly [number, number, number]

/**
 * Spec: empty env inherits ours (the image's, see childEnvironment) unchanged; otherwise ours plus
 * the map, the map winning.
 */
const stageEnv = (stage: PipeStage): NodeJS.ProcessEnv => ({ ...childEnvironment(execEnvironment()), ...stage.env })

/**
 * The pipeline's process group (StageStart), so killing it reaches what the stages left running in the
 * background too. uid/gid both 0: no change; else the shim drops to exactly them, no supplementary groups.
 */
const shimFlags = (stage: PipeStage, start: StageStart): Array<string> => [
  ...(start._tag === "Join" ? ["--pgid", String(start.pgid)] : ["--setpgid"]),
  ...(start._tag === "Lead" && start.foreground ? ["--foreground"] : []),
  ...(stage.uid !== 0 || stage.gid !== 0 ? ["--user", `${stage.uid}:${stage.gid}:`] : [])
]

/** posix_spawn reports a failed chdir as a bare errno; say which directory it was. */
const describeStartError = (stage: PipeStage, file: string, e: unknown): string => {
  if (stage.cwd !== "") {
    try {
      if (!fs.statSync(stage.cwd).isDirectory()) return `chdir ${stage.cwd}: not a directory`
    } catch (statError) {
      return `chdir ${stage.cwd}: ${errnoText(statError)}`
    }
  }
  return `fork/exec ${file}: ${errnoText(e)}`
}

/**
 * The file a stage execs, as the reference's exec.Command finds it: a name with a "/" as it is (relative
 * to the stage's cwd), any other on clawkerd's own PATH, never the stage's env PATH.
 */
const stageFile = (program: string): Result.Result<string, string> =>
  program.includes("/") ? Result.succeed(program) : lookPath(program, process.env.PATH, process.cwd())

/**
 * Starts one stage through the exec shim and waits until its program runs (the shim's status pipe
 * reaches EOF) or failed to start. The pid is registered before anything else can run, so the
 * Reaper never takes its status, and leaves the registry once it is reaped.
 */
export const spawnStage = (
  index: number,
  stage: PipeStage,
  stdio: StageFds,
  registry: ProcessRegistryShape,
  start: StageStart
): Effect.Effect<Stage, SpawnFailed> =>
  Effect.flatMap(Deferred.make<StageStatus>(), (status) =>
    Effect.callback<Stage, SpawnFailed>((resume) => {
      const fail = (message: string) => resume(Effect.fail(new SpawnFailed({ message })))
      const found = stageFile(stage.argv[0] ?? "")
      if (Result.isFailure(found)) return fail(found.failure)
      const file = found.success
      let statusRead: number, statusWrite: number
      try {
        ;[statusRead, statusWrite] = addon.pipe()
      } catch (e) {
        return fail(`status pipe: ${errnoText(e)}`)
      }
      let exited = false
      let pid: number
      try {
        pid = spawnChild(
          execShimPath,
          shimArgv(shimFlags(stage, start), file, stage.argv),
          stageEnv(stage),
          [...stdio, statusWrite],
          stage.cwd,
          (s) => {
            exited = true
            registry.remove(pid)
            Deferred.doneUnsafe(status, Exit.succeed(stageStatus(s.code, s.signal)))
          },
          start.hold
        )
      } catch (e) {
        fs.closeSync(statusRead)
        return fail(describeStartError(stage, file, e))
      } finally {
        fs.closeSync(statusWrite)
      }
      registry.add(pid)
      const release = () => releaseChild(pid)
      readShimStatus(statusRead, (shimStatus) => {
        if (shimStatus === "") return resume(Effect.succeed({ index, pid, status, exited: () => exited, release }))
        // The shim exits by itself after a failure: nobody else would end the hold.
        release()
        const { reason, step } = parseShimStatus(shimStatus)
        fail(step === "exec" ? `fork/exec ${file}: ${reason}` : `${step} ${JSON.stringify(file)}: ${reason}`)
      })
    }))

export type Delivery =
  | { readonly _tag: "Sent" }
  | { readonly _tag: "AlreadyExited" }
  | { readonly _tag: "Failed"; readonly error: string }

/**
 * kill(2) to the pipeline's process group (pgid = the first stage's pid), so what its stages started in
 * the background gets the signal too. The group id stays reserved while any member lives; once none
 * does, the number is free again but is only reused after the pid counter wraps, and these calls happen
 * only while the command still runs.
 */
export const signalGroup = (pgid: number, signo: number): Delivery => {
  try {
    process.kill(-pgid, signo)
    return { _tag: "Sent" }
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH"
      ? { _tag: "AlreadyExited" }
      : { _tag: "Failed", error: errnoText(e) }
  }
}
