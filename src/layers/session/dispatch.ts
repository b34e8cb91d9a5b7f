import { Effect, Metric } from "effect"
import type { Command, Response } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { errorMessage } from "../../lib/errorText.js"
import { EXIT_TRANSIENT } from "../../lib/exitCodes.js"
import * as Log from "../../lib/log.js"
import type { AgentStateShape } from "../../services/AgentState.js"
import type { ProgressReporterShape } from "../../services/ProgressReporter.js"
import type { RegistrarShape } from "../../services/Registrar.js"
import type { CommandRejected, ShellSession } from "../../services/ShellExecutor.js"
import type { SupervisorShape } from "../../services/Supervisor.js"
import type { InboundFrame } from "../../wire/commandFrame.js"
import { isMalformed } from "../../wire/commandFrame.js"
import * as R from "../../wire/responses.js"
import * as Metrics from "../telemetry/metrics.js"

/**
 * What one Session's dispatcher reaches. A daemon without one of these capabilities provides its
 * disabled layer (e.g. `Registrar.disabled`), which answers with the spec's Error (or RegisterDone) naming it.
 */
export interface SessionCapabilities {
  readonly send: (response: Response) => Effect.Effect<void>
  /** Runs an effect in the background for the Session's lifetime (interrupted when it ends). */
  readonly background: (effect: Effect.Effect<void>) => Effect.Effect<void>
  readonly shell: ShellSession
  readonly state: AgentStateShape
  readonly registrar: RegistrarShape
  readonly supervisor: SupervisorShape
  readonly progress: ProgressReporterShape
  /** Writes what is queued so far (bounded). */
  readonly flush: Effect.Effect<void>
  /** Ends the Session (flushing what is queued) and asks the daemon to exit with the code. */
  readonly exitAfterReply: (commandId: string, code: number) => Effect.Effect<void>
}

type Payload = NonNullable<Command["payload"]>

/** How a Command was taken, for the commands metric: its answer, or a rejection. */
type Outcome = "accepted" | "rejected"

const accepted = <E>(answered: Effect.Effect<void, E>): Effect.Effect<Outcome, E> => Effect.as(answered, "accepted")
const refused = (answered: Effect.Effect<void>): Effect.Effect<Outcome> => Effect.as(answered, "rejected")

const invalid = (commandId: string, message: string) =>
  R.error(commandId, ErrorCode.ERROR_CODE_INVALID_REQUEST, message)

export const makeDispatcher = (caps: SessionCapabilities) => {
  const { progress, send, state, supervisor } = caps

  const rejected = (commandId: string) => (e: CommandRejected) => send(R.error(commandId, e.code, e.message))

  const viaShell = (
    commandId: string,
    use: (shell: ShellSession) => Effect.Effect<void, CommandRejected>
  ): Effect.Effect<Outcome> =>
    accepted(use(caps.shell)).pipe(Effect.catchTag("CommandRejected", (e) => refused(rejected(commandId)(e))))

  const hello = (commandId: string) =>
    Effect.gen(function*() {
      yield* send(R.helloAck(commandId, yield* state.initialized, yield* state.cmdRunning))
    })

  const agentInitialized = (commandId: string) =>
    Effect.gen(function*() {
      yield* state.markInitialized
      yield* Log.info("agent_initialized", { command_id: commandId })
      yield* send(R.done(commandId, 0))
    })

  const agentReady = (commandId: string, defaultCmd: string) =>
    Effect.gen(function*() {
      if (!(yield* supervisor.spawned)) yield* progress.final
      // A CMD that exits at once must not tear the listener down before CP has its Done.
      const outcome = yield* supervisor.answering(
        Effect.gen(function*() {
          const outcome = yield* Effect.result(supervisor.spawn(defaultCmd))
          if (outcome._tag === "Success") {
            yield* outcome.success === "spawned"
              ? Log.info("agent_ready_spawned", { command_id: commandId })
              : Log.info("agent_ready_already_spawned", { command_id: commandId })
            yield* send(R.done(commandId, 0))
            yield* caps.flush
          }
          return outcome
        })
      )
      if (outcome._tag === "Failure" && outcome.failure._tag === "SpawnUnwired") {
        yield* Log.error("agent_ready_unwired", { command_id: commandId })
        return yield* send(R.error(commandId, ErrorCode.ERROR_CODE_IO_ERROR, `agent_ready: ${outcome.failure.message}`))
      }
      if (outcome._tag === "Failure") {
        yield* Log.error("agent_ready_spawn_failed", { command_id: commandId, error: outcome.failure.message })
        yield* send(R.error(commandId, ErrorCode.ERROR_CODE_IO_ERROR, `agent_ready: spawn: ${outcome.failure.message}`))
        // Spec: after a spawn failure the daemon exits 1 by itself (the CP would SIGKILL it in 15 s),
        // once the Error is on its way.
        return yield* caps.exitAfterReply(commandId, EXIT_TRANSIENT)
      }
    }).pipe(
      Effect.catchDefect((defect) =>
        Effect.andThen(
          Log.error("agent_ready_panic", { command_id: commandId, error: errorMessage(defect) }),
          send(R.error(commandId, ErrorCode.ERROR_CODE_IO_ERROR, `agent_ready: panic: ${errorMessage(defect)}`))
        )
      )
    )

  const registerRequired = (commandId: string) =>
    caps.background(
      caps.registrar.register.pipe(
        Effect.catchDefect((defect) =>
          Effect.as(Log.error("register_panic", { command_id: commandId, error: errorMessage(defect) }), {
            ok: false,
            error: `register panic: ${errorMessage(defect)}`
          })
        ),
        Effect.flatMap((outcome) => send(R.registerDone(commandId, outcome.ok, outcome.error)))
      )
    )

  const route = (commandId: string, payload: Payload): Effect.Effect<Outcome> => {
    switch (payload.$case) {
      case "hello":
        return accepted(hello(commandId))
      case "shell":
        return Effect.andThen(
          progress.startStep(commandId),
          viaShell(commandId, (s) => s.run(commandId, payload.value))
        )
      case "stdin":
        return viaShell(commandId, (s) => s.stdin(commandId, payload.value.data))
      case "closeStdin":
        return viaShell(commandId, (s) => s.closeStdin(commandId))
      case "signal":
        return viaShell(commandId, (s) => s.signal(commandId, payload.value.signo))
      case "registerRequired":
        return accepted(registerRequired(commandId))
      case "agentReady":
        return accepted(agentReady(commandId, payload.value.defaultCmd))
      case "agentInitialized":
        return accepted(agentInitialized(commandId))
    }
  }

  /** The spec's dispatch rules, checked in order; handles one Command inline. */
  return (frame: InboundFrame): Effect.Effect<void> => {
    if (isMalformed(frame)) {
      return Effect.andThen(
        Log.warn("session_frame_malformed", { reason: frame.reason, bytes: frame.bytes }),
        send(invalid("", `malformed command frame: ${frame.reason}`))
      )
    }
    const { commandId, payload } = frame
    if (payload === undefined) {
      return Effect.andThen(
        Log.warn("session_unknown_payload", { command_id: commandId }),
        send(invalid(commandId, "unknown payload type <nil>"))
      )
    }
    if (commandId === "" && payload.$case !== "hello") return send(invalid("", "command_id required"))
    return route(commandId, payload).pipe(
      Effect.flatMap((outcome) =>
        Metric.update(Metric.withAttributes(Metrics.commands, { kind: payload.$case, outcome }), 1)
      ),
      Effect.withSpan(`clawkerd.command.${payload.$case}`, { attributes: { command_id: commandId } }),
      Effect.catchDefect((defect) =>
        Effect.andThen(
          Log.error("session_dispatch_failed", {
            command_id: commandId,
            payload_type: payload.$case,
            error: errorMessage(defect)
          }),
          send(R.error(commandId, ErrorCode.ERROR_CODE_UNSPECIFIED, `internal error: ${errorMessage(defect)}`))
        )
      )
    )
  }
}
