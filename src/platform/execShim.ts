import { addon, execShimPath } from "./native.js"

/** The soft core limit PID 1 set to 0 for itself at boot; the shim gives it back to every program. */
let childCoreLimit: string | undefined

/**
 * PID 1's boot hardening (native/src/hardening.c): inherited fds close-on-exec, not dumpable, soft
 * core limit 0. Only the daemon calls it; the children get the old core limit back from the shim.
 */
export const hardenSelf = (): void => {
  childCoreLimit = addon.hardenSelf()
}

/** The shim's status pipe: the 4th fd its spawner hands it (after stdin, stdout, stderr). */
const SHIM_STATUS_FD = 3

/**
 * The exec shim's argv (native/src/exec_shim.c): its own `flags`, then what every start carries (the
 * core limit given back, the status fd), the file it execs (found on clawkerd's PATH, platform/lookPath.ts;
 * the shim never searches), then the program's argv.
 */
export const shimArgv = (flags: ReadonlyArray<string>, file: string, program: ReadonlyArray<string>): Array<string> => [
  execShimPath,
  ...flags,
  ...(childCoreLimit === undefined ? [] : ["--core-soft", childCoreLimit]),
  "--status-fd",
  String(SHIM_STATUS_FD),
  "--file",
  file,
  "--",
  ...program
]
