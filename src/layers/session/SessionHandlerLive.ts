import { Clock, Deferred, Duration, Effect, Layer, Metric, Option, Ref } from "effect"
import type { Response } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { errorMessage } from "../../lib/errorText.js"
import { mirroredExitCode } from "../../lib/exitCodes.js"
import * as Log from "../../lib/log.js"
import { AgentState } from "../../services/AgentState.js"
import { ExitRequest } from "../../services/ExitRequest.js"
import { MemoryReclaim } from "../../services/MemoryReclaim.js"
import { ProgressReporter } from "../../services/ProgressReporter.js"
import { Registrar } from "../../services/Registrar.js"
import type { PeerInfo, SessionTransport } from "../../services/SessionHandler.js"
import { SessionHandler } from "../../services/SessionHandler.js"
import type { ResponseSink } from "../../services/ShellExecutor.js"
import { ShellExecutor } from "../../services/ShellExecutor.js"
import { Supervisor } from "../../services/Supervisor.js"
import * as Metrics from "../telemetry/metrics.js"
import { parentFromTraceContext } from "../telemetry/traceParent.js"
import { makeDispatcher } from "./dispatch.js"
import { makeOutbound } from "./outbound.js"

/** Runs `effect` once; later callers wait for the first run to finish. */
const once = (effect: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const started = yield* Ref.make(false)
    const finished = yield* Deferred.make<void>()
    return Effect.gen(function*() {
      if (yield* Ref.getAndSet(started, true)) return yield* Deferred.await(finished)
      yield* Effect.ensuring(effect, Deferred.succeed(finished, undefined))
    })
  })

/** What a Session reaches; a daemon without one of them provides its disabled layer (e.g. `Registrar.disabled`). */
export type SessionCapability =
  | AgentState
  | ExitRequest
  | MemoryReclaim
  | ProgressReporter
  | Registrar
  | ShellExecutor
  | Supervisor

export const SessionHandlerLive: Layer.Layer<SessionHandler, never, SessionCapability> = Layer.effect(
  SessionHandler,
  Effect.gen(function*() {
    const executor = yield* ShellExecutor
    const state = yield* AgentState
    const registrar = yield* Registrar
    const supervisor = yield* Supervisor
    const progress = yield* ProgressReporter
    const exitRequest = yield* ExitRequest
    const reclaim = yield* MemoryReclaim

    /** The init-step completion line belongs after the terminal reply was written (the sender's afterWrite). */
    const afterWrite = (response: Response) =>
      progress.endStep(
        response.commandId,
        response.payload?.$case === "done" && response.payload.value.finalExitCode === 0
      )

    const serve = (session: SessionTransport, peer: PeerInfo) =>
      Effect.gen(function*() {
        const outbound = yield* makeOutbound(session, afterWrite)
        const shellSlot = yield* Ref.make<Option.Option<Effect.Effect<void>>>(Option.none())

        const stopping = yield* Ref.make(false)
        const stop = yield* once(
          Effect.gen(function*() {
            yield* Ref.set(stopping, true)
            const killAll = yield* Ref.get(shellSlot)
            if (Option.isSome(killAll)) yield* killAll.value
            yield* outbound.flush
            yield* outbound.cancel
          })
        )

        const sink: ResponseSink = {
          send: outbound.send,
          exitOnNonZero: (commandId, finalExitCode) =>
            Effect.gen(function*() {
              // A command the Session's own Stop killed did not fail its step: the CP went away, and a
              // reconnecting CP re-runs init. Only a command that ended by itself may end the daemon.
              if (yield* Ref.get(stopping)) {
                return yield* Log.info("command_exit_on_non_zero_ignored_on_teardown", { command_id: commandId })
              }
              // Handed over whole, whatever happens to this command's fiber; the Stop goes with the request
              // (main runs it before the shutdown), and stays interruptible so its flush limit works.
              yield* exitRequest.request(mirroredExitCode(finalExitCode), Effect.interruptible(stop))
            }).pipe(Effect.uninterruptible)
        }
        const shell = yield* executor.session(sink)
        yield* Ref.set(shellSlot, Option.some(shell.killAll))

        const scope = yield* Effect.scope
        const dispatch = makeDispatcher({
          send: outbound.send,
          background: (effect) => Effect.asVoid(Effect.forkIn(effect, scope)),
          shell,
          state,
          registrar,
          supervisor,
          progress,
          flush: outbound.flush,
          exitAfterReply: sink.exitOnNonZero
        })

        const received = yield* session.receive(dispatch).pipe(
          Effect.result,
          Effect.raceFirst(Effect.as(session.cancelled, "cancelled" as const))
        )
        if (received === "cancelled") {
          yield* Log.info("session_cancelled", { peer_cn: peer.cn })
        } else if (received._tag === "Success") {
          yield* Log.info("session_eof", { peer_cn: peer.cn })
        } else if (yield* session.isCancelled) {
          yield* Log.info("session_recv_teardown", { error: received.failure.message })
        } else {
          yield* Log.error("session_recv_failed", { error: received.failure.message })
        }
        yield* stop
        if (received !== "cancelled" && received._tag === "Success") yield* session.end
      }).pipe(Effect.scoped)

    let open = 0
    const countOpen = (change: 1 | -1) => Effect.suspend(() => Metric.update(Metrics.sessionsOpen, open += change))

    return SessionHandler.of({
      handle: (session, peer) =>
        Effect.gen(function*() {
          yield* countOpen(1)
          const startedAt = yield* Clock.currentTimeMillis
          yield* Log.info("session_started", {
            peer_cn: peer.cn,
            peer_thumbprint: peer.thumbprint,
            remote_address: peer.remoteAddress
          })
          yield* serve(session, peer).pipe(
            Effect.catchDefect((defect) =>
              Log.error("session_failed", { peer_cn: peer.cn, error: errorMessage(defect) })
            ),
            Effect.ensuring(
              Effect.gen(function*() {
                yield* progress.mute
                const endedAt = yield* Clock.currentTimeMillis
                yield* Log.info("session_ended", { peer_cn: peer.cn, duration: Duration.millis(endedAt - startedAt) })
                yield* countOpen(-1)
                yield* reclaim.settled
              })
            )
          )
        }).pipe(
          Effect.withSpan("clawkerd.session", {
            attributes: { peer_cn: peer.cn, remote_address: peer.remoteAddress },
            ...Option.match(parentFromTraceContext(session.traceContext), {
              onNone: () => ({}),
              onSome: (parent) => ({ parent })
            })
          })
        )
    })
  })
)
