import { afterAll, beforeAll, expect } from "vitest"
import type { Deployment } from "../../../devkit/pki.js"
import { assertBuilt } from "../../support/daemon.js"
import type { DaemonOptions, DaemonRun } from "../../support/daemonInNamespace.js"
import { startDaemonInNamespace } from "../../support/daemonInNamespace.js"
import { bootstrapFixture } from "../../support/fixtures.js"
import { pidNamespaceUnavailable } from "../../support/pidns.js"
import { ownSession } from "./hostile.js"
import type { Target } from "./hostileScenario.js"
import { cpCredentialsOf } from "./hostileScenario.js"

/** Events that mean something in the daemon crashed; a reliability test expects none of them. */
export const CRASH_EVENTS = [
  "uncaught_exception",
  "unhandled_rejection",
  "session_failed",
  "shell_worker_crashed",
  "clawkerd_listener_serve_failed"
] as const

/** The daemon in its namespace as an attack target, once its listener is up. */
export const daemonTarget = async (run: DaemonRun, deployment: Deployment): Promise<Target> => {
  const port = await run.port()
  const address = `127.0.0.1:${port}`
  return {
    port,
    address,
    deployment,
    events: (event) => run.events(event),
    session: () => ownSession(address, cpCredentialsOf(deployment)),
    everyRefusalLogged: false
  }
}

export interface DaemonUnderTest {
  readonly run: DaemonRun
  readonly target: Target
  /** The daemon's pid as this process sees it, for /proc. */
  readonly pid: number
}

/** Why the daemon tests of a file skip, or undefined when they run (they need root for PID namespaces). */
export const daemonTestsUnavailable = (what: string): string | undefined => {
  const why = pidNamespaceUnavailable()
  if (why !== undefined) console.warn(`skipping ${what}: ${why}`)
  return why
}

/**
 * The built daemon as PID 1 for the tests of one file (no Register servers): started before them, and
 * after them SIGTERMed, with no crash event in its log. A fuzzed frame may well be an AgentReady, so
 * the user CMD is one that stays up: SIGTERM then ends it (143), or, never spawned, the daemon (1).
 */
export const daemonUnderTest = (options: Pick<DaemonOptions, "prelude"> = {}): () => DaemonUnderTest => {
  let state: DaemonUnderTest | undefined
  beforeAll(async () => {
    if (pidNamespaceUnavailable() !== undefined) return
    assertBuilt()
    const fx = await bootstrapFixture()
    const run = await startDaemonInNamespace({
      bootstrapDir: fx.dir,
      deployment: fx.deployment,
      userCmd: ["sleep", "1000000"],
      ...options
    })
    state = { run, target: await daemonTarget(run, fx.deployment), pid: await run.ns.pid() }
  })
  afterAll(async () => {
    if (state === undefined) return
    const { run } = state
    run.close()
    await run.ns.signal("SIGTERM").catch(() => undefined)
    const spawned = run.events("spawn_started").length > 0
    expect((await run.ns.exited).code).toBe(spawned ? 143 : 1)
    for (const crash of CRASH_EVENTS) expect(run.events(crash), crash).toEqual([])
  })
  return () => {
    if (state === undefined) throw new Error("the daemon under test did not start")
    return state
  }
}
