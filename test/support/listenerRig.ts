import type { Effect, Layer } from "effect"
import { Layer as L, ManagedRuntime } from "effect"
import * as path from "node:path"
import type { ClientCredentials, ConnectOptions } from "../../src/devkit/cpClient.js"
import { connect, CpSession } from "../../src/devkit/cpClient.js"
import { AgentStateLive } from "../../src/layers/AgentStateLive.js"
import { BootstrapStoreFromDir } from "../../src/layers/BootstrapStoreLive.js"
import { ListenerLive } from "../../src/layers/ListenerLive.js"
import { SessionHandlerLive } from "../../src/layers/SessionHandlerLive.js"
import { Listener } from "../../src/services/Listener.js"
import { configFrom } from "./config.js"
import { bootstrapFixture } from "./fixtures.js"
import { captureLogs } from "./logs.js"

export interface ListenerRigOptions {
  /** Extra capabilities for the SessionHandler (ShellExecutor, Registrar, Supervisor, ...). */
  readonly capabilities?: Layer.Layer<never>
  readonly env?: Readonly<Record<string, string>>
}

/**
 * The real listener + SessionHandler + AgentState on 127.0.0.1 with minted certificates, and a way
 * to open CP Sessions against it.
 */
export const startListenerRig = async (options: ListenerRigOptions = {}) => {
  const fx = await bootstrapFixture()
  const logs = captureLogs()
  const initMarker = path.join(fx.root, "state", "agent-initialized")
  const config = configFrom({
    CLAWKERD_LISTEN: "127.0.0.1:0",
    CLAWKERD_BOOTSTRAP_DIR: fx.dir,
    CLAWKERD_INIT_MARKER: initMarker,
    CLAWKERD_LOG_DIR: fx.root,
    ...options.env
  })
  const handler = SessionHandlerLive.pipe(L.provide(options.capabilities ?? L.empty))
  const layer = ListenerLive.pipe(
    L.provide(handler),
    L.provide(BootstrapStoreFromDir(fx.dir)),
    L.provideMerge(AgentStateLive),
    L.provideMerge(config),
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
    run: <A, E>(effect: Effect.Effect<A, E, never>) => runtime.runPromise(effect),
    close: async () => {
      for (const c of clients) c.close()
      await runtime.dispose()
    }
  }
}

export const cpCredentials = (fx: Awaited<ReturnType<typeof bootstrapFixture>>): ClientCredentials => ({
  caPem: fx.deployment.ca.certPem,
  certPem: fx.deployment.cpClient.certPem,
  keyPem: fx.deployment.cpClient.keyPem
})

export type ListenerRig = Awaited<ReturnType<typeof startListenerRig>>
