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

export { ErrorCode } from "./gen/clawker/clawkerd/v1/clawkerd.js"
export type { Command, Response } from "./gen/clawker/clawkerd/v1/clawkerd.js"
export { BootstrapStoreFromDir, BootstrapStoreLive } from "./layers/bootstrap/BootstrapStoreLive.js"
export {
  DaemonConfigLive,
  loadDaemonConfig,
  loadLoggingSettings,
  loadTelemetrySettings
} from "./layers/config/DaemonConfigLive.js"
export { BootstrapStoreNode, DaemonLayer, InitStack, ORPHAN_GRACE } from "./layers/DaemonLayer.js"
export { AgentStateLive } from "./layers/lifecycle/AgentStateLive.js"
export { ExitRequestLive } from "./layers/lifecycle/ExitRequestLive.js"
export { MemoryReclaimLive } from "./layers/lifecycle/MemoryReclaimLive.js"
export { ShutdownSignalLive } from "./layers/lifecycle/ShutdownSignalLive.js"
export { DEFAULT_LISTENER_LIMITS, ListenerLimitsRef, ListenerLive } from "./layers/listener/ListenerLive.js"
export type { ListenerLimits } from "./layers/listener/ListenerLive.js"
export { LoggingLive, LoggingTo } from "./layers/logging/Logging.js"
export { ProcessRegistryLive } from "./layers/reaper/ProcessRegistryLive.js"
export { ReaperLive } from "./layers/reaper/ReaperLive.js"
export { HydraLive } from "./layers/register/HydraLive.js"
export { RegistrarLive } from "./layers/register/RegistrarLive.js"
export { SessionHandlerLive } from "./layers/session/SessionHandlerLive.js"
export { ShellExecutorLive } from "./layers/shell/ShellExecutorLive.js"
export { SupervisorLive } from "./layers/supervisor/SupervisorLive.js"
export { UserResolverLive } from "./layers/supervisor/UserResolverLive.js"
export { OtlpLive } from "./layers/telemetry/OtlpLive.js"
export type { TelemetryIdentity } from "./layers/telemetry/OtlpLive.js"
export * as Log from "./lib/log.js"
export { main } from "./programs/main.js"
export type { InboundFrame, MalformedFrame } from "./wire/commandFrame.js"
export { isMalformed } from "./wire/commandFrame.js"
export * as Responses from "./wire/responses.js"
