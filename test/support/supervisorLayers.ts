import { ConfigProvider, Effect, Layer, Ref } from "effect"
import { loadDaemonConfig } from "../../src/layers/config/DaemonConfigLive.js"
import { ShutdownSignalLive } from "../../src/layers/lifecycle/ShutdownSignalLive.js"
import { ProcessRegistryLive } from "../../src/layers/reaper/ProcessRegistryLive.js"
import { ReaperLive } from "../../src/layers/reaper/ReaperLive.js"
import { SupervisorLive } from "../../src/layers/supervisor/SupervisorLive.js"
import { UserResolverLive } from "../../src/layers/supervisor/UserResolverLive.js"
import { AgentState } from "../../src/services/AgentState.js"
import type { DaemonConfigShape } from "../../src/services/DaemonConfig.js"
import { DaemonConfig } from "../../src/services/DaemonConfig.js"

/** AgentState kept in memory: the tests only need to see that the Supervisor marked the CMD running. */
export const MemoryAgentState = Layer.effect(
  AgentState,
  Effect.map(Ref.make(false), (running) => ({
    initialized: Effect.succeed(false),
    cmdRunning: Ref.get(running),
    markInitialized: Effect.void,
    markCmdRunning: Ref.set(running, true)
  }))
)

const baseLayers = (config: DaemonConfigShape) =>
  Layer.mergeAll(Layer.succeed(DaemonConfig, config), ProcessRegistryLive, MemoryAgentState)

/**
 * The Supervisor alone over its ProcessRegistry and AgentState: what an in-process test may run
 * without turning the test worker into a subreaper or taking over its SIGTERM.
 */
export const supervisorLayers = (config: DaemonConfigShape) =>
  SupervisorLive.pipe(Layer.provide(UserResolverLive), Layer.provideMerge(baseLayers(config)))

/** Supervisor, Reaper and ShutdownSignal over one ProcessRegistry, as the daemon wires them. */
export const supervisionLayers = (config: DaemonConfigShape) =>
  Layer.mergeAll(
    SupervisorLive.pipe(Layer.provide(UserResolverLive)),
    ReaperLive,
    ShutdownSignalLive
  ).pipe(Layer.provideMerge(baseLayers(config)))

/** A daemon config from environment entries (CLAWKER_AGENT supplied) and the user CMD. */
export const configFrom = (env: Record<string, string>, userCmd: ReadonlyArray<string>) =>
  loadDaemonConfig(userCmd).pipe(
    Effect.provideService(
      ConfigProvider.ConfigProvider,
      ConfigProvider.fromEnvRecord({ CLAWKER_AGENT: "test", ...env })
    ),
    Effect.orDie
  )
