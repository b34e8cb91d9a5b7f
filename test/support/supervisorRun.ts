import * as fs from "node:fs"
import * as path from "node:path"
import { writeAccounts } from "./accounts.js"
import { bundleEntry } from "./bundle.js"
import { tempDir } from "./fixtures.js"
import type { LogRecord } from "./logs.js"
import type { Namespaced } from "./pidns.js"
import { inPidNamespace } from "./pidns.js"

export interface SupervisedRun {
  readonly ns: Namespaced
  /** The harness's log records so far (the stdout lines that are JSON events). */
  readonly events: (event: string) => ReadonlyArray<LogRecord>
  /** Waits for the first record of `event`. */
  readonly event: (event: string) => Promise<LogRecord>
  readonly home: string
}

const record = (line: string): LogRecord | undefined => {
  if (!line.startsWith("{")) return undefined
  try {
    return JSON.parse(line) as LogRecord
  } catch {
    return undefined
  }
}

/**
 * test/support/supervisorHarness.ts as PID 1 of a fresh PID namespace, running `userCmd` as the
 * test account (CLAWKERD_* overrides in `env`). With `tty`, the namespace runs under a pseudo-
 * terminal and its init is a session leader holding it, as runc makes a container's init.
 */
export const runSupervised = async (
  userCmd: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly tty?: boolean } = {}
): Promise<SupervisedRun> => {
  const harness = await bundleEntry("test/support/supervisorHarness.ts")
  const dir = await tempDir("clawkerd-pid1-")
  fs.chmodSync(dir, 0o755)
  const accounts = await writeAccounts(dir)
  const init = options.tty === true ? ["setsid", "--ctty"] : []
  const ns = inPidNamespace([...init, process.execPath, harness, ...userCmd], {
    tty: options.tty === true,
    env: {
      PATH: "/usr/local/bin:/usr/bin:/bin",
      CLAWKER_AGENT: "pid1-test",
      CLAWKER_USER: "tester",
      CLAWKERD_PASSWD_FILE: accounts.passwd,
      CLAWKERD_GROUP_FILE: accounts.group,
      CLAWKERD_READY_FILE: path.join(dir, "run", "ready"),
      CLAWKERD_LOG_LEVEL: "debug",
      ...options.env
    }
  })
  const events = (event: string) =>
    ns.lines().flatMap((line) => {
      const r = record(line)
      return r !== undefined && r.event === event ? [r] : []
    })
  const event = async (event: string) => record(await ns.line((line) => record(line)?.event === event)) as LogRecord
  return { ns, events, event, home: accounts.home }
}
