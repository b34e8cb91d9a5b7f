import { afterAll, beforeAll } from "vitest"
import { assertBuilt } from "./daemon.js"
import type { DaemonOptions, DaemonRun } from "./daemonInNamespace.js"
import { startDaemonInNamespace } from "./daemonInNamespace.js"
import type { Rig } from "./registerRig.js"
import { startRig } from "./registerRig.js"

/**
 * The daemons of one test file against one CP rig (OAuth2 server, AgentService, bootstrap directory):
 * the rig starts before the file's tests when PID namespaces are available, and after them every
 * daemon is killed and the rig closed.
 */
export const daemonsOfFile = (unavailable: string | undefined) => {
  let rig: Rig | undefined
  const runs: Array<DaemonRun> = []
  beforeAll(async () => {
    assertBuilt()
    if (unavailable === undefined) rig = await startRig()
  })
  afterAll(async () => {
    for (const run of runs) {
      run.close()
      await run.ns.signal("SIGKILL").catch(() => undefined)
      await run.ns.exited
    }
    await rig?.close()
  })
  const cp = (): Rig => {
    if (rig === undefined) throw new Error("the CP rig is not running (PID namespaces unavailable?)")
    return rig
  }
  const start = async (userCmd: ReadonlyArray<string>, options: Partial<DaemonOptions> = {}) => {
    const run = await startDaemonInNamespace({
      bootstrapDir: cp().bootstrapDir,
      deployment: cp().deployment,
      env: cp().env,
      userCmd,
      ...options
    })
    runs.push(run)
    return run
  }
  return { cp, start }
}
