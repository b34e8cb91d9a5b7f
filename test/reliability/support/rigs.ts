import { Duration, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ProcessRegistryLive } from "../../../src/layers/reaper/ProcessRegistryLive.js"
import { ShellExecutorLive } from "../../../src/layers/shell/ShellExecutorLive.js"
import type { ListenerRig } from "../../support/listenerRig.js"
import { startListenerRig } from "../../support/listenerRig.js"
import { ownSession } from "./hostile.js"
import type { Target } from "./hostileScenario.js"
import { cpCredentialsOf } from "./hostileScenario.js"

/** How soon the shell rig's listener sums up its refusals (the daemon: once a minute). */
const SUMMARY_INTERVAL = Duration.seconds(1)

/**
 * The listener rig with real ShellCommand pipelines behind it, as the daemon wires them. Every
 * refusal gets its own line (no log budgets), so a test can check each one's reason.
 */
export const startShellRig = () =>
  startListenerRig({
    capabilities: ShellExecutorLive.pipe(Layer.provide(ProcessRegistryLive)),
    limits: { linesPerSource: Infinity, linesPerWindow: Infinity, summaryInterval: SUMMARY_INTERVAL }
  })

export type ShellRig = Awaited<ReturnType<typeof startShellRig>>

/** The in-process rig as an attack target; its Sessions close their channels when they end. */
export const rigTarget = <R>(rig: ListenerRig<R>): Target => ({
  port: rig.port,
  address: rig.address,
  deployment: rig.fx.deployment,
  events: (event) => rig.logs.events(event),
  session: () => ownSession(rig.address, cpCredentialsOf(rig.fx.deployment)),
  everyRefusalLogged: true,
  summaryWithinMs: 10_000 + Duration.toMillis(SUMMARY_INTERVAL)
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
