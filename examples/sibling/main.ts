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
  InitStack,
  ListenerLive,
  loadLoggingSettings,
  LoggingLive
} from "clawkerd/layers"
import { DaemonConfig, SessionHandler, ShutdownSignal, Supervisor } from "clawkerd/services"
import { ErrorCode, isMalformed, Responses } from "clawkerd/wire"
import { Effect, Layer } from "effect"

/** Hello answers whether the CMD runs; anything else is refused with the spec's error shape. */
const HelloOnly = Layer.effect(
  SessionHandler,
  Effect.gen(function*() {
    const supervisor = yield* Supervisor
    const run = Effect.runForkWith(yield* Effect.context<never>())
    return SessionHandler.of({
      handle: (call, peer) =>
        Effect.andThen(
          Log.info("sibling_session", { peer_cn: peer.cn }),
          Effect.callback<void>((resume) => {
            call.on("data", (frame) => {
              if (isMalformed(frame) || frame.payload?.$case !== "hello") {
                const id = isMalformed(frame) ? "" : frame.commandId
                call.write(Responses.error(id, ErrorCode.ERROR_CODE_INVALID_REQUEST, "this daemon serves Hello only"))
                return
              }
              const id = frame.commandId
              run(Effect.map(supervisor.spawned, (running) => call.write(Responses.helloAck(id, false, running))))
            })
            call.on("end", () => {
              call.end()
              resume(Effect.void)
            })
            call.on("error", () => resume(Effect.void))
          })
        )
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
