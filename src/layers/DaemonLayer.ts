import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Duration, Effect, Layer } from "effect"
import { onOwnFiber } from "../lib/fibers.js"
import { ProgressReporter } from "../services/ProgressReporter.js"
import { Reaper } from "../services/Reaper.js"
import { BootstrapStoreLive } from "./bootstrap/BootstrapStoreLive.js"
import { DaemonConfigLive } from "./config/DaemonConfigLive.js"
import { FrameRoomLive } from "./frameRoom/FrameRoomLive.js"
import { AgentStateLive } from "./lifecycle/AgentStateLive.js"
import { ExitRequestLive } from "./lifecycle/ExitRequestLive.js"
import { MemoryReclaimLive } from "./lifecycle/MemoryReclaimLive.js"
import { ProgressReporterLive } from "./lifecycle/ProgressReporterLive.js"
import { ShutdownSignalLive } from "./lifecycle/ShutdownSignalLive.js"
import { ListenerLive } from "./listener/ListenerLive.js"
import { GrpcLogLive } from "./logging/GrpcLogLive.js"
import { ProcessRegistryLive } from "./reaper/ProcessRegistryLive.js"
import { ReaperLive } from "./reaper/ReaperLive.js"
import { HydraOnFirstUse } from "./register/HydraOnFirstUse.js"
import { RegistrarLive } from "./register/RegistrarLive.js"
import { SessionHandlerLive } from "./session/SessionHandlerLive.js"
import { ShellExecutorLive } from "./shell/ShellExecutorLive.js"
import { SupervisorLive } from "./supervisor/SupervisorLive.js"
import { UserResolverLive } from "./supervisor/UserResolverLive.js"

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
 * The CP's Session and everything it reaches beyond the init: the SessionHandler, ShellCommand
 * pipelines and the Register coordinator over Hydra. Needs InitStack's services, BootstrapStore,
 * DaemonConfig, a ProgressReporter (ConsoleStack, or ProgressReporter.disabled) and the FrameRoom its
 * output is read into, the listener's (FrameRoomLive, provided to both).
 */
export const SessionStack = SessionHandlerLive.pipe(
  Layer.provideMerge(Layer.mergeAll(ShellExecutorLive, RegistrarLive.pipe(Layer.provide(HydraOnFirstUse))))
)

/** The console during CP-driven init: the banner, printed at boot, and the init steps' lines. */
export const ConsoleStack = Banner.pipe(Layer.provideMerge(ProgressReporterLive))

/**
 * The whole daemon, one layer per line in boot order (spec: config, banner, user, bootstrap,
 * Register coordinator, listener). Each line is built after the ones below it and released before
 * them, so the reverse of this list is the teardown: listener force-closed, Sessions and their
 * commands ended, orphans drained, the user CMD's group killed if it somehow still runs, state last.
 */
export const DaemonLayer = (userCmd: ReadonlyArray<string>) =>
  ListenerLive.pipe(
    Layer.provideMerge(SessionStack),
    Layer.provideMerge(FrameRoomLive),
    Layer.provideMerge(BootstrapStoreNode),
    Layer.provideMerge(InitStack),
    Layer.provideMerge(ConsoleStack),
    Layer.provideMerge(GrpcLogLive),
    Layer.provideMerge(DaemonConfigLive(userCmd))
  )
