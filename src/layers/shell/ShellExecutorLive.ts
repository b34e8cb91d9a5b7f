import type { Scope } from "effect"
import { Effect, FiberSet, Layer } from "effect"
import type { Response, ShellCommand } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { errnoText } from "../../lib/errorText.js"
import { mirroredExitCode } from "../../lib/exitCodes.js"
import * as Log from "../../lib/log.js"
import { signoProblem } from "../../platform/signals.js"
import { FrameRoom } from "../../services/FrameRoom.js"
import { ProcessRegistry } from "../../services/ProcessRegistry.js"
import { ProgressReporter } from "../../services/ProgressReporter.js"
import type { ResponseSink, ShellSession } from "../../services/ShellExecutor.js"
import { CommandRejected, ShellExecutor } from "../../services/ShellExecutor.js"
import { shellCommandProblem } from "../../wire/shellCommand.js"
import * as Reply from "../../wire/shellReplies.js"
import { runCommand } from "./pipeline.js"
import type { RunningCommand } from "./runningCommand.js"
import { makeRunningCommand } from "./runningCommand.js"

const rejected = (code: ErrorCode, message: string) => Effect.fail(new CommandRejected({ code, message }))

/**
 * How many ended ids a Session remembers for CloseStdin. The CP sends one CloseStdin right after each
 * step, so only the most recent ids matter; the bound keeps a long Session's memory flat.
 */
const ENDED_IDS_KEPT = 1024

/**
 * ShellCommand pipelines (spec session.md §5). Each Session gets its own running set; a command's
 * worker lives in the Session's scope, so closing it kills and reaps whatever still runs.
 * print_output echoes through the ProgressReporter (ProgressReporter.disabled: nowhere). Output is read
 * into the FrameRoom the listener frames replies with.
 */
export const ShellExecutorLive: Layer.Layer<
  ShellExecutor,
  never,
  ProcessRegistry | ProgressReporter | FrameRoom
> = Layer.effect(
  ShellExecutor,
  Effect.gen(function*() {
    const registry = yield* ProcessRegistry
    const reporter = yield* ProgressReporter
    const room = yield* FrameRoom

    const session = (sink: ResponseSink): Effect.Effect<ShellSession, never, Scope.Scope> =>
      Effect.gen(function*() {
        const table = new Map<string, RunningCommand>()
        const ended = new Set<string>()
        const markEnded = (commandId: string) => {
          ended.delete(commandId)
          ended.add(commandId)
          if (ended.size > ENDED_IDS_KEPT) ended.delete(ended.values().next().value!)
        }
        const workers = yield* FiberSet.make()
        const killAll = Effect.suspend(() =>
          Effect.forEach(table.values(), (running) => running.terminate, { discard: true })
        )
        // Added after the FiberSet, so it runs first: stages die before their workers are interrupted.
        yield* Effect.addFinalizer(() => killAll)

        const lookup = (commandId: string, verb: string) =>
          Effect.suspend(() => {
            const running = table.get(commandId)
            return running
              ? Effect.succeed(running)
              : rejected(ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID, `${verb}: no running command with that id`)
          })

        const start = (
          commandId: string,
          command: ShellCommand,
          restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
        ) =>
          Effect.gen(function*() {
            const running = yield* makeRunningCommand(commandId)
            table.set(commandId, running)
            let finished = false
            const finish = (reply: Response | undefined) =>
              Effect.suspend(() => {
                if (finished) return Effect.void
                finished = true
                // The id is retired before its terminal reply goes out: once the CP has read Done, a Stdin
                // or Signal for it is UNKNOWN_COMMAND_ID, whichever fiber the scheduler runs first.
                if (table.get(commandId) === running) {
                  table.delete(commandId)
                  markEnded(commandId)
                }
                return reply ? sink.send(reply) : Effect.void
              })
            const requestExit = (finalExitCode: number) =>
              Log.info("command_exit_on_non_zero", {
                command_id: commandId,
                final_exit_code: finalExitCode,
                mirrored_exit_code: mirroredExitCode(finalExitCode)
              }).pipe(
                Effect.andThen(sink.exitOnNonZero(commandId, finalExitCode)),
                Effect.catchDefect((defect) =>
                  Log.error("command_exit_on_non_zero_failed", { command_id: commandId, error: errnoText(defect) })
                )
              )
            // runCommand answers its own crashes; this catches one in the answering itself.
            const worker = runCommand({ command, running, sink, registry, reporter, room, finish, requestExit }).pipe(
              Effect.catchDefect((defect) =>
                Log.error("shell_worker_crashed", { command_id: commandId, error: errnoText(defect) }).pipe(
                  Effect.andThen(finish(Reply.crashed(commandId, defect))),
                  Effect.catchDefect(() => Effect.void)
                )
              )
            )
            yield* FiberSet.run(workers, restore(worker))
          })

        const run = (commandId: string, command: ShellCommand): Effect.Effect<void, CommandRejected> =>
          Effect.suspend(() => {
            const problem = shellCommandProblem(command)
            if (problem !== undefined) {
              markEnded(commandId)
              return rejected(ErrorCode.ERROR_CODE_INVALID_REQUEST, problem)
            }
            if (table.has(commandId)) {
              return rejected(ErrorCode.ERROR_CODE_INVALID_REQUEST, "shell: command_id already in use")
            }
            // Registered and forked as one step: an id in the table always has a worker. The worker itself
            // stays interruptible (a fork inherits the region it was forked in), so teardown can stop it.
            return Effect.uninterruptibleMask((restore) => start(commandId, command, restore))
          })

        return {
          run,
          stdin: (commandId, data) =>
            Effect.flatMap(lookup(commandId, "stdin"), (running) => running.feeder.offer(data)),
          // The CP closes stdin right after every step, also one that already answered: that one is silent.
          closeStdin: (commandId) =>
            !table.has(commandId) && ended.has(commandId)
              ? Log.debug("session_close_stdin_after_end", { command_id: commandId })
              : Effect.flatMap(lookup(commandId, "close_stdin"), (running) => running.feeder.close),
          signal: (commandId, signo) =>
            Effect.suspend(() => {
              const problem = signoProblem(signo)
              return problem !== undefined
                ? rejected(ErrorCode.ERROR_CODE_INVALID_REQUEST, problem)
                : Effect.flatMap(lookup(commandId, "signal"), (running) => running.signal(signo))
            }),
          killAll,
          runningCount: Effect.sync(() => table.size)
        }
      })

    return { session }
  })
)
