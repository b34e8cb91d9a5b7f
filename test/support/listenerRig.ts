import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type { Effect, Layer } from "effect"
import { Layer as L, ManagedRuntime } from "effect"
import * as path from "node:path"
import { BootstrapStoreFromDir } from "../../src/layers/bootstrap/BootstrapStoreLive.js"
import { FrameRoomLive } from "../../src/layers/frameRoom/FrameRoomLive.js"
import { AgentStateLive } from "../../src/layers/lifecycle/AgentStateLive.js"
import type { ListenerLimits } from "../../src/layers/listener/ListenerLive.js"
import { DEFAULT_LISTENER_LIMITS, ListenerLimitsRef, ListenerLive } from "../../src/layers/listener/ListenerLive.js"
import { HydraLive } from "../../src/layers/register/HydraLive.js"
import { RegistrarLive } from "../../src/layers/register/RegistrarLive.js"
import { SessionHandlerLive } from "../../src/layers/session/SessionHandlerLive.js"
import type { ClientCredentials, ConnectOptions } from "../../src/programs/cp/cpClient.js"
import { connect, CpSession } from "../../src/programs/cp/cpClient.js"
import type { AgentState } from "../../src/services/AgentState.js"
import type { BootstrapStore } from "../../src/services/BootstrapStore.js"
import type { DaemonConfig } from "../../src/services/DaemonConfig.js"
import { ExitRequest } from "../../src/services/ExitRequest.js"
import type { FrameRoom } from "../../src/services/FrameRoom.js"
import { Listener } from "../../src/services/Listener.js"
import { MemoryReclaim } from "../../src/services/MemoryReclaim.js"
import { ProgressReporter } from "../../src/services/ProgressReporter.js"
import { Registrar } from "../../src/services/Registrar.js"
import { ShellExecutor } from "../../src/services/ShellExecutor.js"
import { Supervisor } from "../../src/services/Supervisor.js"
import { configFrom } from "./config.js"
import type { BootstrapFixture } from "./fixtures.js"
import { bootstrapFixture } from "./fixtures.js"
import { captureLogs } from "./logs.js"
import type { Rig } from "./registerRig.js"

export interface ListenerRigOptions<ROut> {
  /**
   * Capabilities for the SessionHandler (ShellExecutor, Registrar, Supervisor, ...), also reachable by the test;
   * every other one is its disabled layer. The shell's output is read into the listener's FrameRoom.
   */
  readonly capabilities?: Layer.Layer<ROut, never, DaemonConfig | AgentState | BootstrapStore | FrameRoom | Disabled>
  readonly env?: Readonly<Record<string, string>>
  /** Certificates and bootstrap directory to serve with; a fresh fixture by default. */
  readonly fixture?: BootstrapFixture
  /** Changes to the daemon's listener limits (e.g. a short refusal summary window). */
  readonly limits?: Partial<ListenerLimits>
}

/** What the rig's SessionHandler gets where a test wires nothing of its own. */
const Disabled = L.mergeAll(
  ExitRequest.disabled,
  MemoryReclaim.disabled,
  ProgressReporter.disabled,
  Registrar.disabled,
  ShellExecutor.disabled,
  Supervisor.disabled
)
type Disabled = L.Success<typeof Disabled>

/**
 * The real listener + SessionHandler + AgentState on 127.0.0.1 with minted certificates, and a way
 * to open CP Sessions against it.
 */
export const startListenerRig = async <ROut = never>(options: ListenerRigOptions<ROut> = {}) => {
  const fx = options.fixture ?? (await bootstrapFixture())
  const logs = captureLogs()
  const initMarker = path.join(fx.root, "state", "agent-initialized")
  const config = configFrom({
    CLAWKERD_LISTEN: "127.0.0.1:0",
    CLAWKERD_BOOTSTRAP_DIR: fx.dir,
    CLAWKERD_INIT_MARKER: initMarker,
    CLAWKERD_LOG_DIR: fx.root,
    ...options.env
  })
  const base = L.mergeAll(
    AgentStateLive,
    BootstrapStoreFromDir(fx.dir).pipe(L.provide(NodeFileSystem.layer)),
    FrameRoomLive,
    Disabled
  ).pipe(L.provideMerge(config))
  const capabilities = (options.capabilities ?? (L.empty as Layer.Layer<ROut>)).pipe(L.provideMerge(base))
  const layer = ListenerLive.pipe(
    L.provide(L.succeed(ListenerLimitsRef, { ...DEFAULT_LISTENER_LIMITS, ...options.limits })),
    L.provide(SessionHandlerLive),
    L.provideMerge(capabilities),
    L.provideMerge(logs.layer)
  )
  const runtime = ManagedRuntime.make(layer)
  const listener = await runtime.runPromise(Listener)
  const address = `127.0.0.1:${listener.address.port}`
  const clients: Array<{ close(): void }> = []
  const session = (credentials: ClientCredentials = cpCredentials(fx), connectOptions?: ConnectOptions) => {
    const client = connect(address, credentials, connectOptions)
    clients.push(client)
    return CpSession.open(client)
  }
  return {
    fx,
    logs,
    initMarker,
    address,
    port: listener.address.port,
    runtime,
    session,
    run: <A, E>(effect: Effect.Effect<A, E, ROut | AgentState | DaemonConfig | BootstrapStore>) =>
      runtime.runPromise(effect),
    close: async () => {
      for (const c of clients) c.close()
      await runtime.dispose()
    }
  }
}

export const cpCredentials = (fx: BootstrapFixture): ClientCredentials => ({
  caPem: fx.deployment.ca.certPem,
  certPem: fx.deployment.cpClient.certPem,
  keyPem: fx.deployment.cpClient.keyPem
})

export type ListenerRig<ROut = never> = Awaited<ReturnType<typeof startListenerRig<ROut>>>

/** The listener serving Register against a running CP rig: its bootstrap directory, env and a Registrar over Hydra. */
export const startRegisterListenerRig = (cp: Rig): Promise<ListenerRig<Registrar>> =>
  startListenerRig({
    fixture: {
      root: path.dirname(cp.bootstrapDir),
      dir: cp.bootstrapDir,
      deployment: cp.deployment,
      signer: cp.signer,
      assertion: cp.assertion
    },
    env: cp.env,
    capabilities: RegistrarLive.pipe(L.provide(HydraLive))
  })
