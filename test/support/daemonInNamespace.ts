import * as path from "node:path"
import type { LogEvent } from "../../devkit/daemonLog.js"
import { listenerPort, readLogEvents } from "../../devkit/daemonLog.js"
import type { Deployment } from "../../devkit/pki.js"
import type { ClawkerdServiceClient } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import type { ClientCredentials } from "../../src/programs/cp/cpClient.js"
import { connect, CpSession } from "../../src/programs/cp/cpClient.js"
import { TESTER, writeAccounts } from "./accounts.js"
import { daemonCommand } from "./daemon.js"
import { tempDir } from "./fixtures.js"
import type { Namespaced } from "./pidns.js"
import { inPidNamespace } from "./pidns.js"

export interface DaemonOptions {
  readonly bootstrapDir: string
  readonly deployment: Deployment
  readonly userCmd: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  /** Reuse the state directory of an earlier run (restart semantics). */
  readonly stateDir?: string
  readonly listen?: string
  /**
   * Shell commands run as root inside the namespace (which has its own mount namespace) before the
   * daemon replaces the shell as PID 1: e.g. a small or read-only mount for storage faults.
   */
  readonly prelude?: string
  /** What runs as PID 1 before the user CMD: the built daemon unless given (e.g. a sibling daemon). */
  readonly program?: ReadonlyArray<string>
  /**
   * Under a pseudo-terminal, the daemon a session leader holding it as its controlling terminal, as
   * runc starts a container's init with a TTY (`docker run -t`); `ns.write` types on it.
   */
  readonly tty?: boolean
}

export interface DaemonRun {
  readonly ns: Namespaced
  readonly stateDir: string
  readonly marker: string
  readonly readyFile: string
  /** The port the daemon's listener bound (read from its log). */
  readonly port: () => Promise<number>
  readonly logs: () => ReadonlyArray<LogEvent>
  readonly events: (event: string) => ReadonlyArray<LogEvent>
  readonly session: () => Promise<CpSession>
  readonly close: () => void
}

/** What the CP presents to clawkerd's listener in `deployment`: its client leaf, and the CA it trusts. */
export const cpCredentials = (deployment: Deployment): ClientCredentials => ({
  caPem: deployment.ca.certPem,
  certPem: deployment.cpClient.certPem,
  keyPem: deployment.cpClient.keyPem
})

/** The built daemon as PID 1 of a fresh PID namespace, with its state, logs and accounts in a temp dir. */
export const startDaemonInNamespace = async (options: DaemonOptions): Promise<DaemonRun> => {
  const stateDir = options.stateDir ?? (await tempDir("clawkerd-e2e-"))
  const accounts = await writeAccounts(stateDir)
  const marker = path.join(stateDir, "lib", "agent-initialized")
  const readyFile = path.join(stateDir, "run", "ready")
  // Each run logs to a fresh directory, so a restarted daemon's log is its own.
  const logFile = path.join(await tempDir("clawkerd-e2e-log-"), "clawkerd.log")
  const daemon = [
    ...(options.tty === true ? ["setsid", "--ctty"] : []),
    ...(options.program ?? daemonCommand),
    ...options.userCmd
  ]
  const argv = options.prelude === undefined ? daemon : ["sh", "-c", `${options.prelude}\nexec "$@"`, "sh", ...daemon]
  const ns = inPidNamespace(argv, {
    tty: options.tty === true,
    env: {
      CLAWKER_AGENT: "dev",
      CLAWKER_PROJECT: "demo",
      CLAWKER_USER: TESTER.name,
      CLAWKERD_LISTEN: options.listen ?? "127.0.0.1:0",
      CLAWKERD_BOOTSTRAP_DIR: options.bootstrapDir,
      CLAWKERD_LOG_DIR: path.dirname(logFile),
      CLAWKERD_LOG_LEVEL: "debug",
      CLAWKERD_INIT_MARKER: marker,
      CLAWKERD_READY_FILE: readyFile,
      CLAWKERD_PASSWD_FILE: accounts.passwd,
      CLAWKERD_GROUP_FILE: accounts.group,
      CLAWKERD_STOP_GRACE: "3 seconds",
      ...options.env
    }
  })
  const logs = () => readLogEvents(logFile)
  const events = (event: string) => logs().filter((r) => r.event === event)
  let exited = false
  void ns.exited.then(() => (exited = true))
  const port = () =>
    listenerPort(logFile, () => exited).catch((e: Error) => {
      throw new Error(`${e.message}; stderr: ${ns.stderr()}`)
    })
  const clients: Array<InstanceType<typeof ClawkerdServiceClient>> = []
  return {
    ns,
    stateDir,
    marker,
    readyFile,
    port,
    logs,
    events,
    session: async () => {
      const client = connect(`127.0.0.1:${await port()}`, cpCredentials(options.deployment))
      clients.push(client)
      return CpSession.open(client)
    },
    close: () => {
      for (const c of clients) c.close()
    }
  }
}
