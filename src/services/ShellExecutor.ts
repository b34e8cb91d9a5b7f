import type { Scope } from "effect"
import { Context, Data, Effect, Layer } from "effect"
import type { Response, ShellCommand } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../gen/clawker/clawkerd/v1/clawkerd.js"

/** A ShellCommand/Stdin/CloseStdin/Signal refused; the dispatcher answers it with `Error{code, message}`. */
export class CommandRejected extends Data.TaggedError("CommandRejected")<{
  readonly code: ErrorCode
  readonly message: string
}> {}

/** How a running command talks back to its Session. */
export interface ResponseSink {
  /** Enqueue a reply; waits while the Session's outbound queue is full; dropped once the Session ended. */
  readonly send: (response: Response) => Effect.Effect<void>
  /**
   * exit_on_non_zero fired: the Done is already enqueued. The daemon is asked to exit with the mirrored
   * code, the Session's Stop (other commands killed, queue flushed) to run first. Returns at once.
   */
  readonly exitOnNonZero: (commandId: string, finalExitCode: number) => Effect.Effect<void>
}

/** The running ShellCommands of one Session (ids are per Session). */
export interface ShellSession {
  /** Validates, registers the id, starts the pipeline in the background; returns once registered. */
  readonly run: (commandId: string, command: ShellCommand) => Effect.Effect<void, CommandRejected>
  readonly stdin: (commandId: string, data: Uint8Array) => Effect.Effect<void, CommandRejected>
  readonly closeStdin: (commandId: string) => Effect.Effect<void, CommandRejected>
  readonly signal: (commandId: string, signo: number) => Effect.Effect<void, CommandRejected>
  /** Session Stop, step 1: SIGKILL the process groups of every running command's stages. */
  readonly killAll: Effect.Effect<void>
  readonly runningCount: Effect.Effect<number>
}

export interface ShellExecutorShape {
  /** A command table for one Session; closing the scope kills whatever still runs. */
  readonly session: (sink: ResponseSink) => Effect.Effect<ShellSession, never, Scope.Scope>
}

/** What a daemon without a shell executor answers a Command of `kind` with. */
const unwired = (kind: string) =>
  Effect.fail(
    new CommandRejected({
      code: ErrorCode.ERROR_CODE_IO_ERROR,
      message: `${kind}: clawkerd has no shell executor wired`
    })
  )

export class ShellExecutor extends Context.Service<ShellExecutor, ShellExecutorShape>()("clawkerd/ShellExecutor") {
  /** No shell: ShellCommand, Stdin, CloseStdin and Signal are refused with IO_ERROR naming what is missing. */
  static readonly disabled: Layer.Layer<ShellExecutor> = Layer.succeed(ShellExecutor, {
    session: () =>
      Effect.succeed({
        run: () => unwired("shell"),
        stdin: () => unwired("stdin"),
        closeStdin: () => unwired("close_stdin"),
        signal: () => unwired("signal"),
        killAll: Effect.void,
        runningCount: Effect.succeed(0)
      })
  })
}
