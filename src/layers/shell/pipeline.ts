import { Clock, Deferred, Duration, Effect, Fiber, Metric } from "effect"
import * as net from "node:net"
import type { Response, ShellCommand } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { errnoText } from "../../lib/errorText.js"
import { waitAtMost } from "../../lib/fibers.js"
import * as Log from "../../lib/log.js"
import { addon } from "../../platform/native.js"
import { giveBackTerminal, startLendingTerminal } from "../../platform/terminal.js"
import type { FrameRoomShape } from "../../services/FrameRoom.js"
import type { ProcessRegistryShape } from "../../services/ProcessRegistry.js"
import type { ProgressReporterShape } from "../../services/ProgressReporter.js"
import type { ResponseSink } from "../../services/ShellExecutor.js"
import type { StageStatus } from "../../wire/shellCommand.js"
import { NO_STATUS } from "../../wire/shellCommand.js"
import * as Reply from "../../wire/shellReplies.js"
import * as Metrics from "../telemetry/metrics.js"
import type { DrainFailed } from "./outputDrain.js"
import { openOutput, readSizeFor } from "./outputDrain.js"
import type { PipeCloser } from "./pipeCloser.js"
import { makePipeCloser } from "./pipeCloser.js"
import type { RunningCommand } from "./runningCommand.js"
import { ioFailure } from "./runningCommand.js"
import type { Stage, StageFds } from "./stage.js"
import { spawnStage } from "./stage.js"
import { streamWriter } from "./stdinFeeder.js"

/**
 * How long a torn-down command waits for its SIGKILLed stages to be reaped. SIGKILL cannot be caught,
 * so only a process stuck in the kernel gets here; PID 1 must not hang on it.
 */
export const STAGE_REAP_WAIT = Duration.seconds(5)

export type Outcome = "completed" | "spawn_failed" | "timeout" | "io_error" | "incomplete"

/** How a command ended: its terminal reply and what the audit says about it. */
interface Ending {
  readonly reply: Response
  readonly outcome: Outcome
  /** The Done value; -1 for every other outcome. */
  readonly finalExitCode: number
  /** The last stage's code after an IO error (the pipeline ran to its end): what exit_on_non_zero mirrors. */
  readonly ioErrorExitCode?: number
}

export interface CommandRun {
  readonly command: ShellCommand
  readonly running: RunningCommand
  readonly sink: ResponseSink
  readonly registry: ProcessRegistryShape
  readonly reporter: ProgressReporterShape
  /** Where the output's read buffers come from: the room the Session's transport frames them with. */
  readonly room: FrameRoomShape
  /**
   * Hands the terminal reply to the sink (none when undefined: the Session is gone) and drops the id
   * from the running set; only the first call counts.
   */
  readonly finish: (reply: Response | undefined) => Effect.Effect<void>
  /** exit_on_non_zero fired: the Done is already with the sink. Must not run on the command's own fiber. */
  readonly requestExit: (finalExitCode: number) => Effect.Effect<void>
}

/** The parent's copies of the pipe fds, each closed exactly once, whatever way the command ends. */
const parentFds = (closer: PipeCloser) => {
  const open = new Map<number, string>()
  const pipe = (label: string) =>
    Effect.try({
      try: () => {
        const [readFd, writeFd] = addon.pipe()
        open.set(readFd, label).set(writeFd, label)
        return { readFd, writeFd }
      },
      catch: (e) => `${label} pipe: ${errnoText(e)}`
    })
  const close = (fd: number) =>
    Effect.suspend(() => {
      const label = open.get(fd)
      open.delete(fd)
      return label === undefined ? Effect.void : closer.close(fd, label)
    })
  /** The fd's new owner closes it. */
  const handOver = (fd: number) => void open.delete(fd)
  const closeAll = Effect.suspend(() => Effect.forEach([...open.keys()], close, { discard: true }))
  return { pipe, close, handOver, closeAll }
}

const giveBack = (commandId: string, pgid: number) =>
  Effect.flatMap(giveBackTerminal(pgid), (error) =>
    error === undefined
      ? Effect.void
      : Log.warn("tty_foreground_reclaim_failed", { command_id: commandId, pgid, error }))

/** Teardown for any ending: SIGKILL what still runs, wait until every stage is reaped. */
const releaseStages = (running: RunningCommand) =>
  Effect.gen(function*() {
    yield* running.kill
    const reaped = yield* waitAtMost(
      Effect.forEach(running.stages, (stage) => Deferred.await(stage.status), { discard: true }),
      STAGE_REAP_WAIT
    )
    if (reaped._tag === "None") {
      yield* Log.warn("shell_stage_reap_wait_timeout", {
        command_id: running.id,
        pids: running.stages.filter((stage) => !stage.exited()).map((stage) => stage.pid)
      })
    }
  })

/** One waiter per stage: its StageExit goes out as it exits. A crashing waiter still reports the stage. */
const awaitStage = (run: CommandRun, stage: Stage): Effect.Effect<StageStatus> => {
  const id = run.running.id
  return Deferred.await(stage.status).pipe(
    Effect.tap((status) =>
      Effect.andThen(
        Effect.annotateCurrentSpan({ exit_code: status.exitCode }),
        run.sink.send(Reply.stageExit(id, stage.index, status))
      )
    ),
    Effect.withSpan("clawkerd.stage", { attributes: { command_id: id, stage_index: stage.index, pid: stage.pid } }),
    Effect.catchDefect((defect) =>
      Log.error("shell_stage_reaper_panic", { command_id: id, stage_index: stage.index, error: errnoText(defect) })
        .pipe(
          Effect.andThen(run.sink.send(Reply.stageExit(id, stage.index, NO_STATUS))),
          Effect.as(NO_STATUS)
        )
    )
  )
}

const spawnFailed = (run: CommandRun, message: string): Effect.Effect<Ending> =>
  Effect.gen(function*() {
    const reply = Reply.error(run.running.id, ErrorCode.ERROR_CODE_SPAWN_FAILED, message)
    // Spec order: the Error is enqueued first, then the started stages are killed.
    yield* run.finish(reply)
    yield* run.running.kill
    return { reply, outcome: "spawn_failed", finalExitCode: -1 }
  })

/** Everything from the pipes to the terminal check; every resource it takes is released when its scope closes. */
const execute = (run: CommandRun, closer: PipeCloser) =>
  Effect.gen(function*() {
    // However the command ends, a Stdin frame still waiting for room is let go.
    yield* Effect.addFinalizer(() => run.running.feeder.end)
    const { command, running, sink } = run
    const id = running.id
    const last = command.stages.length - 1
    yield* Effect.addFinalizer(() => releaseStages(running))
    const fds = parentFds(closer)
    yield* Effect.addFinalizer(() => fds.closeAll)

    // Ordinary pipes, never sockets: a script may open /dev/stdin or /dev/stdout by path.
    const pipes = yield* Effect.all({
      input: fds.pipe("stage[0] stdin"),
      links: Effect.forEach(command.stages.slice(0, last), (_, i) => fds.pipe(`stage[${i}] stdout`)),
      output: fds.pipe("combined output")
    }).pipe(Effect.result)
    if (pipes._tag === "Failure") return yield* spawnFailed(run, pipes.failure)
    const { input, links, output } = pipes.success

    // Until every stage started, none is reaped: the group they join outlives a first stage that exits at once.
    const hold = command.stages.length > 1
    const releaseHolds = Effect.sync(() => running.stages.forEach((stage) => stage.release()))
    yield* Effect.addFinalizer(() => releaseHolds)
    for (const [i, stage] of command.stages.entries()) {
      const stdio: StageFds = [
        i === 0 ? input.readFd : links[i - 1]!.readFd,
        i === last ? output.writeFd : links[i]!.writeFd,
        output.writeFd
      ]
      const leader = running.stages[0]
      const spawn = leader === undefined
        ? startLendingTerminal(
          (foreground) => spawnStage(i, stage, stdio, run.registry, { _tag: "Lead", foreground, hold }),
          (started) => started.pid
        )
        : spawnStage(i, stage, stdio, run.registry, { _tag: "Join", pgid: leader.pid, hold })
      const started = yield* spawn.pipe(
        Effect.tap(running.addStage),
        Effect.result,
        // A teardown must find every started stage in the running command, so nothing in between can stop.
        Effect.uninterruptible
      )
      if (started._tag === "Failure") return yield* spawnFailed(run, `stage[${i}] start: ${started.failure.message}`)
      // The terminal, if it was lent to the group (src/platform/terminal.ts), goes back when the command ends.
      if (i === 0) yield* Effect.addFinalizer(() => giveBack(running.id, started.success.pid))
    }
    yield* releaseHolds
    // Only the children hold write ends now: EOF arrives when the last writer exits.
    yield* Effect.forEach(
      [input.readFd, output.writeFd, ...links.flatMap((l) => [l.readFd, l.writeFd])],
      fds.close,
      { discard: true }
    )
    yield* sink.send(Reply.started(id))

    const timedOut = yield* Deferred.make<void>()
    const timer = command.timeoutSeconds > 0
      ? yield* Effect.forkChild(
        Effect.sleep(Duration.seconds(command.timeoutSeconds)).pipe(
          Effect.andThen(running.fail({
            code: ErrorCode.ERROR_CODE_TIMEOUT,
            message: `pipeline killed after ${command.timeoutSeconds}s timeout`,
            outcome: "timeout"
          })),
          Effect.andThen(Deferred.succeed(timedOut, undefined))
        )
      )
      : undefined
    const stdin = new net.Socket({ fd: input.writeFd, readable: false, writable: true })
    fds.handOver(input.writeFd)
    yield* Effect.addFinalizer(() => Effect.sync(() => stdin.destroy()))
    // Write callbacks report stdin errors; without a listener an EPIPE 'error' would be thrown at PID 1.
    stdin.on("error", () => {})
    const feeder = yield* Effect.forkChild(
      running.feeder.feed(streamWriter(stdin), command.initialStdin).pipe(
        Effect.catch((e) => running.fail(ioFailure(e.message)))
      )
    )
    const echo = command.printOutput ? run.reporter.echo : undefined
    const deliver = (data: Buffer) =>
      Effect.andThen(sink.send(Reply.output(id, data)), Metric.update(Metrics.outputBytes, data.length))
    const forward = echo === undefined ? deliver : (data: Buffer) => Effect.andThen(echo(data), deliver(data))
    const drainFailed = (e: DrainFailed) => running.fail(ioFailure(`output drain: ${errnoText(e.cause)}`))
    const reader = yield* openOutput(run.room, output.readFd, () => fds.handOver(output.readFd), {
      handsOn: echo === undefined,
      readSize: readSizeFor(id)
    }).pipe(Effect.result)
    const drain = yield* Effect.forkChild(
      reader._tag === "Success"
        ? reader.success.drain(forward).pipe(Effect.catch(drainFailed))
        : drainFailed(reader.failure)
    )
    // A timeout answers once the stages are reaped: output still held open by a process outside the group
    // (a setsid'd grandchild) is not waited for. The read end is closed; what was read goes out first.
    if (reader._tag === "Success") {
      yield* Effect.forkChild(Effect.andThen(Deferred.await(timedOut), reader.success.close))
    }

    const waiters = yield* Effect.forEach(running.stages, (stage) => Effect.forkChild(awaitStage(run, stage)))
    const statuses = yield* Effect.forEach(waiters, Fiber.join)
    yield* Fiber.interrupt(feeder)
    stdin.destroy()
    // No OutputChunk may follow the terminal reply.
    yield* Fiber.join(drain)
    if (timer) yield* Fiber.interrupt(timer)

    const failure = running.failure()
    const finalExitCode = (statuses[last] ?? NO_STATUS).exitCode
    if (failure) {
      return {
        reply: Reply.error(id, failure.code, failure.message),
        outcome: failure.outcome,
        finalExitCode: -1,
        ...(failure.outcome === "io_error" ? { ioErrorExitCode: finalExitCode } : {})
      }
    }
    return { reply: Reply.done(id, finalExitCode), outcome: "completed", finalExitCode } satisfies Ending
  })

/**
 * A ShellCommand's worker: audit, pipeline, exactly one terminal reply, audit. A crash anywhere still
 * kills and reaps the stages (scope release) and ends with an Error; an interruption (Session
 * teardown) does the same without a reply, since nobody is left to read it.
 */
export const runCommand = (run: CommandRun): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { command, running } = run
    const id = running.id
    const start = yield* Clock.currentTimeMillis
    const closer = makePipeCloser(id)
    const audit = (ending: Pick<Ending, "outcome" | "finalExitCode">) =>
      Effect.gen(function*() {
        yield* closer.report
        const now = yield* Clock.currentTimeMillis
        yield* Log.info("shell_command_done", {
          command_id: id,
          duration: now - start,
          final_exit_code: ending.finalExitCode,
          timed_out: ending.outcome === "timeout",
          outcome: ending.outcome
        })
      })

    for (const [stageIndex, stage] of command.stages.entries()) {
      yield* Log.info("shell_command_started", {
        command_id: id,
        stage_index: stageIndex,
        argv: stage.argv,
        cwd: stage.cwd,
        uid: stage.uid,
        gid: stage.gid,
        timeout_seconds: command.timeoutSeconds
      })
    }
    const ending = yield* Effect.scoped(execute(run, closer)).pipe(
      Effect.catchDefect((defect) =>
        Log.error("shell_worker_crashed", { command_id: id, error: errnoText(defect) }).pipe(
          Effect.as<Ending>({ reply: Reply.crashed(id, defect), outcome: "incomplete", finalExitCode: -1 })
        )
      ),
      Effect.onInterrupt(() =>
        Effect.andThen(run.finish(undefined), audit({ outcome: "incomplete", finalExitCode: -1 }))
      )
    )
    yield* run.finish(ending.reply)
    yield* audit(ending)
    if (command.exitOnNonZero && ending.outcome === "completed" && ending.finalExitCode !== 0) {
      yield* run.requestExit(ending.finalExitCode)
    } else if (command.exitOnNonZero && ending.ioErrorExitCode !== undefined) {
      // The step failed as surely as with a non-zero Done, and the CP kills the container 15 s later.
      yield* run.requestExit(ending.ioErrorExitCode !== 0 ? ending.ioErrorExitCode : 1)
    }
  })
