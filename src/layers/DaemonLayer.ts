import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Duration, Effect, Layer } from "effect"
import { onOwnFiber } from "../domain/fibers.js"
import { BootstrapStore } from "../services/BootstrapStore.js"
import { DaemonConfig } from "../services/DaemonConfig.js"
import { Hydra, HydraError } from "../services/Hydra.js"
import { ProgressReporter } from "../services/ProgressReporter.js"
import { Reaper } from "../services/Reaper.js"
import { AgentStateLive } from "./AgentStateLive.js"
import { BootstrapStoreLive } from "./BootstrapStoreLive.js"
import { DaemonConfigLive } from "./DaemonConfigLive.js"
import { ExitRequestLive } from "./ExitRequestLive.js"
import { GrpcLogLive } from "./GrpcLogLive.js"
import { ListenerLive } from "./ListenerLive.js"
import { MemoryReclaimLive } from "./MemoryReclaimLive.js"
import { ProcessRegistryLive } from "./ProcessRegistryLive.js"
import { ProgressReporterLive } from "./ProgressReporterLive.js"
import { ReaperLive } from "./ReaperLive.js"
import { describeError } from "./registerText.js"
import { RegistrarLive } from "./RegistrarLive.js"
import { SessionHandlerLive } from "./SessionHandlerLive.js"
import { ShellExecutorLive } from "./ShellExecutorLive.js"
import { ShutdownSignalLive } from "./ShutdownSignalLive.js"
import { SupervisorLive } from "./SupervisorLive.js"
import { UserResolverLive } from "./UserResolverLive.js"

/**
 * Orphans still alive at teardown get SIGTERM, then SIGKILL after this. Short on purpose: the user
 * CMD already had its full stop grace, and Docker's own kill timeout is running.
 */
export const ORPHAN_GRACE = Duration.seconds(2)

const Banner = Layer.effectDiscard(Effect.flatMap(ProgressReporter, (p) => p.banner))

/**
 * Phase 2 of reaping, as a release: placed below the listener, it runs after the listener closed.
 * On its own fiber, because the drain's timeouts must interrupt what they race, which a finalizer's
 * uninterruptible region would not allow.
 */
const OrphanDrainOnRelease = Layer.effectDiscard(
  Effect.flatMap(Reaper, (reaper) => Effect.addFinalizer(() => Effect.asVoid(onOwnFiber(reaper.drain(ORPHAN_GRACE)))))
)

/**
 * Hydra's client (HydraLive) loaded by the first token exchange, not at boot: only Register needs it,
 * and a daemon that is never asked to Register never evaluates it (bench/boot.ts, bench/memory.ts).
 */
export const HydraOnFirstUse: Layer.Layer<Hydra, never, DaemonConfig | BootstrapStore> = Layer.effect(
  Hydra,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const bootstrap = yield* BootstrapStore
    const hydra = yield* Effect.cached(
      Effect.tryPromise({
        try: () => import("./HydraLive.js"),
        catch: (e) =>
          new HydraError({
            kind: "not_reached",
            consumed: false,
            message: `loading the token client: ${describeError(e)}`
          })
      }).pipe(Effect.map(({ makeHydra }) => makeHydra(bootstrap.caPem, config.hydraUrl)))
    )
    return Hydra.of({ exchange: (assertion) => Effect.flatMap(hydra, (client) => client.exchange(assertion)) })
  })
)

/** The bootstrap files read through Node's file system. */
export const BootstrapStoreNode = BootstrapStoreLive.pipe(Layer.provide(NodeFileSystem.layer))

/**
 * clawkerd as an init, for any daemon that runs one CMD as PID 1: the Supervisor (and the account it
 * runs the CMD as), the Reaper with its orphan drain at release, the process registry, agent state,
 * exit requests, the shutdown signals and memory reclaim. Needs DaemonConfig; in boot order, like below.
 */
export const InitStack = OrphanDrainOnRelease.pipe(
  Layer.provideMerge(SupervisorLive.pipe(Layer.provide(UserResolverLive))),
  Layer.provideMerge(ReaperLive),
  Layer.provideMerge(
    Layer.mergeAll(ProcessRegistryLive, AgentStateLive, ExitRequestLive, ShutdownSignalLive, MemoryReclaimLive)
  )
)

/**
 * The whole daemon, one layer per line in boot order (spec: config, banner, user, bootstrap,
 * Register coordinator, listener). Each line is built after the ones below it and released before
 * them, so the reverse of this list is the teardown: listener force-closed, Sessions and their
 * commands ended, orphans drained, the user CMD's group killed if it somehow still runs, state last.
 */
export const DaemonLayer = (userCmd: ReadonlyArray<string>) =>
  ListenerLive.pipe(
    Layer.provideMerge(SessionHandlerLive),
    Layer.provideMerge(Layer.mergeAll(ShellExecutorLive, RegistrarLive.pipe(Layer.provide(HydraOnFirstUse)))),
    Layer.provideMerge(BootstrapStoreNode),
    Layer.provideMerge(InitStack),
    Layer.provideMerge(Banner),
    Layer.provideMerge(ProgressReporterLive),
    Layer.provideMerge(GrpcLogLive),
    Layer.provideMerge(DaemonConfigLive(userCmd))
  )
