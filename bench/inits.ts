import * as C from "../src/programs/cp/commands.js"
import type { BootstrapFixture } from "../test/support/fixtures.js"
import type { Namespaced } from "../test/support/pidns.js"
import type { BenchContext } from "./harness.js"
import { deployment, installed, namespaced, startDaemon } from "./rigs.js"

/**
 * An init that runs a user CMD as PID 1 of a fresh PID namespace: clawkerd (spawning it on AgentReady,
 * as the CP makes it), or one of the Debian inits it is compared with, the CMD as its argument.
 */
export interface Init {
  readonly name: string
  /** The CMD runs by the time this resolves; its stdout lines are the namespace's. */
  readonly start: (cmd: ReadonlyArray<string>) => Promise<Namespaced>
}

const clawkerd = (ctx: BenchContext): Init => {
  let fixture: Promise<BootstrapFixture> | undefined
  return {
    name: "clawkerd",
    start: async (cmd) => {
      const run = await startDaemon(ctx, await (fixture ??= deployment(ctx)), { userCmd: cmd })
      const session = await run.session()
      const reply = await session.request(C.agentReady("ready"))
      if (reply.payload?.$case !== "done") throw new Error(`AgentReady answered ${reply.payload?.$case}`)
      session.close()
      return run.ns
    }
  }
}

/** A Debian init taking the CMD after `prefix`, when it is installed (apt-get install -y tini dumb-init). */
const debian = (ctx: BenchContext, name: string, prefix: ReadonlyArray<string>): Init | undefined => {
  const path = installed(name)
  if (path === undefined) {
    ctx.log(`${name} is not installed (apt-get install -y ${name}): its baseline is skipped`)
    return undefined
  }
  return { name, start: async (cmd) => namespaced(ctx, [path, ...prefix, ...cmd]) }
}

/** clawkerd, then tini and dumb-init where installed. */
export const inits = (ctx: BenchContext): ReadonlyArray<Init> =>
  [clawkerd(ctx), debian(ctx, "tini", ["--"]), debian(ctx, "dumb-init", [])].filter((i): i is Init => i !== undefined)
