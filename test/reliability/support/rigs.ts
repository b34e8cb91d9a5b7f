import { Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ProcessRegistryLive } from "../../../src/layers/ProcessRegistryLive.js"
import { ShellExecutorLive } from "../../../src/layers/ShellExecutorLive.js"
import type { ListenerRig } from "../../support/listenerRig.js"
import { startListenerRig } from "../../support/listenerRig.js"
import { ownSession } from "./hostile.js"
import type { Target } from "./hostileScenario.js"
import { cpCredentialsOf } from "./hostileScenario.js"

/** The listener rig with real ShellCommand pipelines behind it, as the daemon wires them. */
export const startShellRig = () =>
  startListenerRig({ capabilities: ShellExecutorLive.pipe(Layer.provide(ProcessRegistryLive)) })

export type ShellRig = Awaited<ReturnType<typeof startShellRig>>

/** The in-process rig as an attack target; its Sessions close their channels when they end. */
export const rigTarget = <R>(rig: ListenerRig<R>): Target => ({
  port: rig.port,
  address: rig.address,
  deployment: rig.fx.deployment,
  events: (event) => rig.logs.events(event),
  session: () => ownSession(rig.address, cpCredentialsOf(rig.fx.deployment))
})

/**
 * The shell rig for the tests of one file, with every unhandled rejection in this process recorded
 * while it runs (`unhandled`).
 */
export const shellRigUnderTest = () => {
  let rig: ShellRig | undefined
  const unhandled: Array<unknown> = []
  const onUnhandled = (reason: unknown) => void unhandled.push(reason)
  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled)
    rig = await startShellRig()
  })
  afterAll(async () => {
    await rig?.close()
    process.off("unhandledRejection", onUnhandled)
  })
  return {
    unhandled,
    rig: (): ShellRig => {
      if (rig === undefined) throw new Error("the shell rig did not start")
      return rig
    }
  }
}
