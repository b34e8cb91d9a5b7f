/*
 * clawkerd as a library: the capabilities a sibling daemon composes. Each is a service (its tag, its
 * interface and its errors) with its live layer; `InitStack` is the supervising init, `ListenerLive` the
 * CP-only mTLS listener around a SessionHandler of the caller's choosing, `DaemonLayer` the whole daemon
 * and `main` its program. `effect` and `@effect/platform-node` come from the composing daemon (peer
 * dependencies, ^4.1).
 */

export * from "./services/AgentState.js"
export * from "./services/BootstrapStore.js"
export * from "./services/DaemonConfig.js"
export * from "./services/ExitRequest.js"
export * from "./services/Hydra.js"
export * from "./services/Listener.js"
export * from "./services/MemoryReclaim.js"
export * from "./services/ProcessRegistry.js"
export * from "./services/ProgressReporter.js"
export * from "./services/Reaper.js"
export * from "./services/Registrar.js"
export * from "./services/SessionHandler.js"
export * from "./services/ShellExecutor.js"
export * from "./services/ShutdownSignal.js"
export * from "./services/Supervisor.js"
export * from "./services/UserResolver.js"

export type { InboundFrame, MalformedFrame } from "./domain/commandFrame.js"
export { isMalformed } from "./domain/commandFrame.js"
export * as Log from "./domain/log.js"
export * as Responses from "./domain/responses.js"
export { ErrorCode } from "./gen/clawker/clawkerd/v1/clawkerd.js"
export type { Command, Response } from "./gen/clawker/clawkerd/v1/clawkerd.js"
export { AgentStateLive } from "./layers/AgentStateLive.js"
export { BootstrapStoreFromDir, BootstrapStoreLive } from "./layers/BootstrapStoreLive.js"
export {
  DaemonConfigLive,
  loadDaemonConfig,
  loadLoggingSettings,
  loadTelemetrySettings
} from "./layers/DaemonConfigLive.js"
export { BootstrapStoreNode, DaemonLayer, InitStack, ORPHAN_GRACE } from "./layers/DaemonLayer.js"
export { ExitRequestLive } from "./layers/ExitRequestLive.js"
export { HydraLive } from "./layers/HydraLive.js"
export { DEFAULT_LISTENER_LIMITS, ListenerLimitsRef, ListenerLive } from "./layers/ListenerLive.js"
export type { ListenerLimits } from "./layers/ListenerLive.js"
export { LoggingLive, LoggingTo } from "./layers/Logging.js"
export { MemoryReclaimLive } from "./layers/MemoryReclaimLive.js"
export { OtlpLive } from "./layers/OtlpLive.js"
export type { TelemetryIdentity } from "./layers/OtlpLive.js"
export { ProcessRegistryLive } from "./layers/ProcessRegistryLive.js"
export { ReaperLive } from "./layers/ReaperLive.js"
export { RegistrarLive } from "./layers/RegistrarLive.js"
export { SessionHandlerLive } from "./layers/SessionHandlerLive.js"
export { ShellExecutorLive } from "./layers/ShellExecutorLive.js"
export { ShutdownSignalLive } from "./layers/ShutdownSignalLive.js"
export { SupervisorLive } from "./layers/SupervisorLive.js"
export { UserResolverLive } from "./layers/UserResolverLive.js"
export { main } from "./programs/main.js"
