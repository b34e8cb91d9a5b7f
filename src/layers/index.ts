/*
 * `clawkerd/layers`: every capability's live layer, and the named stacks a sibling daemon reuses:
 * `InitStack` (the supervising init), `SessionStack` (the CP Session and what it reaches), `ConsoleStack`
 * (banner and init-step lines), `ListenerLive` (the CP-only mTLS listener around any SessionHandler; with the
 * shell, it shares the `FrameRoomLive` below both) and `DaemonLayer` (all of clawkerd, in boot order).
 */

export { BootstrapStoreFromDir, BootstrapStoreLive } from "./bootstrap/BootstrapStoreLive.js"
export {
  DaemonConfigLive,
  loadDaemonConfig,
  loadLoggingSettings,
  loadTelemetrySettings
} from "./config/DaemonConfigLive.js"
export { BootstrapStoreNode, ConsoleStack, DaemonLayer, InitStack, ORPHAN_GRACE, SessionStack } from "./DaemonLayer.js"
export { FrameRoomLive } from "./frameRoom/FrameRoomLive.js"
export { AgentStateLive } from "./lifecycle/AgentStateLive.js"
export { ExitRequestLive } from "./lifecycle/ExitRequestLive.js"
export { MemoryReclaimLive } from "./lifecycle/MemoryReclaimLive.js"
export { ProgressReporterLive } from "./lifecycle/ProgressReporterLive.js"
export { ShutdownSignalLive } from "./lifecycle/ShutdownSignalLive.js"
export { DEFAULT_LISTENER_LIMITS, ListenerLimitsRef, ListenerLive } from "./listener/ListenerLive.js"
export type { ListenerLimits } from "./listener/ListenerLive.js"
export { LoggingLive, LoggingTo } from "./logging/Logging.js"
export { ProcessRegistryLive } from "./reaper/ProcessRegistryLive.js"
export { ReaperLive } from "./reaper/ReaperLive.js"
export { HydraLive } from "./register/HydraLive.js"
export { RegistrarLive } from "./register/RegistrarLive.js"
export { SessionHandlerLive } from "./session/SessionHandlerLive.js"
export type { SessionCapability } from "./session/SessionHandlerLive.js"
export { ShellExecutorLive } from "./shell/ShellExecutorLive.js"
export { SupervisorLive } from "./supervisor/SupervisorLive.js"
export { UserResolverLive } from "./supervisor/UserResolverLive.js"
export { OtlpLive } from "./telemetry/OtlpLive.js"
export type { TelemetryIdentity } from "./telemetry/OtlpLive.js"
