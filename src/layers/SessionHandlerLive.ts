import type { ServerDuplexStream } from "@grpc/grpc-js"
import { Clock, Deferred, Duration, Effect, Exit, Layer, Metric, Option, Ref } from "effect"
import type { InboundFrame } from "../domain/commandFrame.js"
import { mirroredExitCode } from "../domain/exitCodes.js"
import { onOwnFiber } from "../domain/fibers.js"
import { giveBack } from "../domain/frameRoom.js"
import * as Log from "../domain/log.js"
import type { Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { AgentState } from "../services/AgentState.js"
import { ExitRequest } from "../services/ExitRequest.js"
import { MemoryReclaim } from "../services/MemoryReclaim.js"
import { ProgressReporter } from "../services/ProgressReporter.js"
import { Registrar } from "../services/Registrar.js"
import type { PeerInfo } from "../services/SessionHandler.js"
import { SessionHandler } from "../services/SessionHandler.js"
import type { ResponseSink } from "../services/ShellExecutor.js"
import { ShellExecutor } from "../services/ShellExecutor.js"
import { Supervisor } from "../services/Supervisor.js"
import { makeDispatcher } from "./session/dispatch.js"
import type { ReplyStream } from "./session/outbound.js"
import { makeOutbound } from "./session/outbound.js"
import { forEachAsync } from "./session/receive.js"
import * as Metrics from "./telemetry/metrics.js"
import { parentFromMetadata } from "./telemetry/traceParent.js"

type Call = ServerDuplexStream<InboundFrame, Response>

/**
 * The call as the Session's sender writes to it: grpc-js calls back once a reply was written, by then
 * its bytes copied into grpc-js's own message buffer, so an OutputChunk's memory is given back for the
 * next read. A call cancelled first never calls back; that chunk is left to the collector.
 */
const streamOf = (call: Call): ReplyStream => ({
  write: (response, written) =>
    call.write(response, (error?: Error | null) => {
      if (response.payload?.$case === "output") giveBack(response.payload.value.data)
      written(error)
    }),
  drained: Effect.callback<void>((resume) => {
    const onDrain = () => resume(Effect.void)
    call.once("drain", onDrain)
    return Effect.sync(() => void call.off("drain", onDrain))
  })
})

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e))

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

export const SessionHandlerLive: Layer.Layer<SessionHandler> = Layer.effect(
  SessionHandler,
  Effect.gen(function*() {
    const executor = yield* Effect.serviceOption(ShellExecutor)
    const state = yield* Effect.serviceOption(AgentState)
    const registrar = yield* Effect.serviceOption(Registrar)
    const supervisor = yield* Effect.serviceOption(Supervisor)
    const progress = yield* Effect.serviceOption(ProgressReporter)
    const exitRequest = yield* Effect.serviceOption(ExitRequest)
    const muteProgress = Option.match(progress, { onNone: () => Effect.void, onSome: (p) => p.mute })
    const reclaim = yield* Effect.serviceOption(MemoryReclaim)
    const settled = Option.match(reclaim, { onNone: () => Effect.void, onSome: (r) => r.settled })

    /** The init-step completion line belongs after the terminal reply was written (the sender's afterWrite). */
    const afterWrite = (response: Response) =>
      Option.isSome(progress)
        ? progress.value.endStep(
          response.commandId,
          response.payload?.$case === "done" && response.payload.value.finalExitCode === 0
        )
        : Effect.void

    const serve = (call: Call, peer: PeerInfo) =>
      Effect.gen(function*() {
        const peerCancelled = yield* Deferred.make<void>()
        call.on("cancelled", () => Deferred.doneUnsafe(peerCancelled, Exit.void))
        // grpc-js may emit 'error' on a broken stream; the receiver sees it, this keeps it from throwing.
        call.on("error", () => undefined)
        const outbound = yield* makeOutbound(streamOf(call), afterWrite)
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
              yield* stop
              if (Option.isNone(exitRequest)) {
                return yield* Log.warn("command_exit_on_non_zero_no_seam", { command_id: commandId })
              }
              yield* exitRequest.value.request(mirroredExitCode(finalExitCode))
            }).pipe(onOwnFiber)
        }
        const shell = Option.isSome(executor) ? Option.some(yield* executor.value.session(sink)) : Option.none()
        if (Option.isSome(shell)) yield* Ref.set(shellSlot, Option.some(shell.value.killAll))

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

        // destroyOnReturn false: the default iterator destroys the duplex at EOF, before our replies and status.
        const commands = call.iterator({ destroyOnReturn: false }) as AsyncIterable<InboundFrame>
        const received = yield* forEachAsync(commands, dispatch).pipe(
          Effect.result,
          Effect.raceFirst(Effect.as(Deferred.await(peerCancelled), "cancelled" as const))
        )
        if (received === "cancelled") {
          yield* Log.info("session_cancelled", { peer_cn: peer.cn })
        } else if (received._tag === "Success") {
          yield* Log.info("session_eof", { peer_cn: peer.cn })
        } else if (yield* Deferred.isDone(peerCancelled)) {
          yield* Log.info("session_recv_teardown", { error: reason(received.failure) })
        } else {
          yield* Log.error("session_recv_failed", { error: reason(received.failure) })
        }
        yield* stop
        if (received !== "cancelled" && received._tag === "Success") call.end()
      }).pipe(Effect.scoped)

    let open = 0
    const countOpen = (change: 1 | -1) => Effect.suspend(() => Metric.update(Metrics.sessionsOpen, open += change))

    return SessionHandler.of({
      handle: (call, peer) =>
        Effect.gen(function*() {
          yield* countOpen(1)
          const startedAt = yield* Clock.currentTimeMillis
          yield* Log.info("session_started", {
            peer_cn: peer.cn,
            peer_thumbprint: peer.thumbprint,
            remote_address: peer.remoteAddress
          })
          yield* serve(call, peer).pipe(
            Effect.catchDefect((defect) => Log.error("session_failed", { peer_cn: peer.cn, error: reason(defect) })),
            Effect.ensuring(
              Effect.gen(function*() {
                yield* muteProgress
                const endedAt = yield* Clock.currentTimeMillis
                yield* Log.info("session_ended", { peer_cn: peer.cn, duration: Duration.millis(endedAt - startedAt) })
                yield* countOpen(-1)
                yield* settled
              })
            )
          )
        }).pipe(
          Effect.withSpan("clawkerd.session", {
            attributes: { peer_cn: peer.cn, remote_address: peer.remoteAddress },
            ...Option.match(parentFromMetadata(call.metadata), { onNone: () => ({}), onSome: (parent) => ({ parent }) })
          })
        )
    })
  })
)
