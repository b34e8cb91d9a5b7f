import { Effect } from "effect"
import { constants } from "node:os"
import { ErrorCode } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import * as Log from "../../lib/log.js"
import type { Stage } from "./stage.js"
import { signalGroup } from "./stage.js"
import type { StdinFeeder } from "./stdinFeeder.js"
import { makeStdinFeeder } from "./stdinFeeder.js"

/** Why a started command ends with an Error instead of Done. */
export interface Failure {
  readonly code: ErrorCode
  readonly message: string
  readonly outcome: "timeout" | "io_error"
}

export const ioFailure = (message: string): Failure => ({
  code: ErrorCode.ERROR_CODE_IO_ERROR,
  message,
  outcome: "io_error"
})

/** A command in its Session's running set: what Stdin/CloseStdin/Signal and teardown act on. */
export interface RunningCommand {
  readonly id: string
  readonly feeder: StdinFeeder
  readonly stages: ReadonlyArray<Stage>
  /** A stage started after a kill is killed at once. */
  readonly addStage: (stage: Stage) => Effect.Effect<void>
  /** SIGKILL to the pipeline's process group while a started stage is not reaped yet. */
  readonly kill: Effect.Effect<void>
  /**
   * SIGKILL to the pipeline's process group, its stages reaped or not: the command is being ended
   * (timeout, Session teardown), and what its stages left in the background goes with it.
   */
  readonly terminate: Effect.Effect<void>
  /** Records the command's terminal failure (the first one wins) and terminates it. */
  readonly fail: (failure: Failure) => Effect.Effect<void>
  readonly failure: () => Failure | undefined
  /** A Signal frame: silent on success, failures only logged. */
  readonly signal: (signo: number) => Effect.Effect<void>
}

export const makeRunningCommand = (id: string): Effect.Effect<RunningCommand> =>
  Effect.gen(function*() {
    const stages: Array<Stage> = []
    let killed = false
    let failure: Failure | undefined = undefined

    /** The pipeline's process group, led by its first stage; none before a stage started. */
    const group = () => stages[0]?.pid
    const killGroup = (afterExit: boolean) =>
      Effect.suspend(() => {
        const pgid = group()
        if (pgid === undefined || !afterExit && stages.every((stage) => stage.exited())) return Effect.void
        const delivery = signalGroup(pgid, constants.signals.SIGKILL)
        return delivery._tag === "Failed"
          ? Log.error("shell_kill_failed", { command_id: id, pgid, error: delivery.error })
          : Effect.void
      })
    const killAll = (afterExit: boolean) =>
      Effect.suspend(() => {
        killed = true
        return killGroup(afterExit)
      })
    const kill = killAll(false)
    const terminate = killAll(true)
    const fail = (f: Failure) =>
      Effect.suspend(() => {
        failure ??= f
        return terminate
      })

    const feeder = yield* makeStdinFeeder(id)

    const signal = (signo: number) =>
      Effect.suspend(() => {
        const pgid = group()
        if (pgid === undefined) return Effect.void
        const delivery = signalGroup(pgid, signo)
        const fields = { command_id: id, pgid, signo }
        switch (delivery._tag) {
          case "Sent":
            return Effect.void
          case "AlreadyExited":
            return Log.debug("session_signal_after_exit", fields)
          case "Failed":
            return Log.error("session_signal_forward_failed", { ...fields, error: delivery.error })
        }
      })

    return {
      id,
      feeder,
      stages,
      addStage: (stage) =>
        Effect.suspend(() => {
          stages.push(stage)
          return killed ? killGroup(true) : Effect.void
        }),
      kill,
      terminate,
      fail,
      failure: () => failure,
      signal
    }
  })
