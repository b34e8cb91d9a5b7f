/*
 * A sibling daemon built only from clawkerd's public surface: an init that runs its CMD as PID 1 (as the
 * configured user, reaping orphans, stopping it on SIGTERM with the grace) and serves the control plane
 * Hello only, over clawkerd's CP-only mTLS listener. Every other Command is refused. Its exit code is the
 * CMD's. Run: `node --import tsx examples/sibling/main.ts CMD...` with clawkerd's environment variables.
 */
import { Log } from "clawkerd"
import {
  BootstrapStoreNode,
  DaemonConfigLive,
  FrameRoomLive,
  InitStack,
  ListenerLive,
  loadLoggingSettings,
  LoggingLive
} from "clawkerd/layers"
import { DaemonConfig, SessionHandler, ShutdownSignal, Supervisor } from "clawkerd/services"
import type { Response } from "clawkerd/wire"
import { ErrorCode, isMalformed, Responses } from "clawkerd/wire"
import { Effect, Layer } from "effect"

/** Hello answers whether the CMD runs; anything else is refused with the spec's error shape. */
const HelloOnly = Layer.effect(
  SessionHandler,
  Effect.gen(function*() {
    const supervisor = yield* Supervisor
    return SessionHandler.of({
      handle: (session, peer) =>
        Effect.gen(function*() {
          yield* Log.info("sibling_session", { peer_cn: peer.cn })
          // Replies this small never wait for the transport to drain.
          const reply = (response: Response) => Effect.sync(() => void session.write(response, () => undefined))
          yield* session.receive((frame) => {
            if (isMalformed(frame) || frame.payload?.$case !== "hello") {
              const id = isMalformed(frame) ? "" : frame.commandId
              return reply(Responses.error(id, ErrorCode.ERROR_CODE_INVALID_REQUEST, "this daemon serves Hello only"))
            }
            return Effect.flatMap(supervisor.spawned, (running) =>
              reply(Responses.helloAck(frame.commandId, false, running)))
          }).pipe(
            Effect.andThen(session.end),
            Effect.catchTag("SessionBroken", (e) =>
              Log.info("sibling_session_broken", { error: e.message }))
          )
        })
    })
  })
)

const sibling = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const supervisor = yield* Supervisor
  const shutdown = yield* ShutdownSignal
  yield* supervisor.spawn("")
  // The CMD's own exit, or a shutdown signal first: then the CMD gets SIGTERM, the grace, SIGKILL.
  const code = yield* Effect.raceFirst(
    supervisor.exited,
    Effect.andThen(
      shutdown.received,
      Effect.map(supervisor.stop(config.stopGrace), (stopped) => stopped._tag === "Some" ? stopped.value : 143)
    )
  )
  yield* Log.info("sibling_exit", { exit_code: code })
  return code
})

const program = Effect.gen(function*() {
  const logging = yield* loadLoggingSettings
  const daemon = ListenerLive.pipe(
    Layer.provideMerge(HelloOnly),
    Layer.provideMerge(FrameRoomLive),
    Layer.provideMerge(BootstrapStoreNode),
    Layer.provideMerge(InitStack),
    Layer.provideMerge(DaemonConfigLive(process.argv.slice(2)))
  )
  return yield* sibling.pipe(Effect.provide(daemon), Effect.provide(LoggingLive(logging)))
})

Effect.runPromise(Effect.scoped(program)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`sibling: ${String(error)}\n`)
    process.exit(2)
  }
)
