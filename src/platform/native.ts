import { createRequire } from "node:module"

/** What `waitid(P_PID, pid, WNOHANG)` found: exactly one of code and signal is set (the real signo). */
export interface ReapedStatus {
  readonly pid: number
  readonly code: number | null
  readonly signal: number | null
}

/** The reaper addon (native/src/addon.c). Errors carry the errno name in `code` (ESRCH, ECHILD, ...). */
export interface NativeAddon {
  readonly setChildSubreaper: () => true
  /** null while the process runs; throws ECHILD when it is not (or no longer) our child. */
  readonly reap: (pid: number) => ReapedStatus | null
  /**
   * posix_spawn: the child's fds 0..n-1 are `fds`, every signal at its default and unblocked, `cwd`
   * ("" = ours). libuv does not know the pid: only `reap` collects it. Throws the chdir/exec errno.
   */
  readonly spawn: (
    file: string,
    argv: ReadonlyArray<string>,
    env: ReadonlyArray<string>,
    fds: ReadonlyArray<number>,
    cwd: string
  ) => number
  /** The pid of one exited child, left unreaped (waitid WNOWAIT); 0 when no child has exited. */
  readonly waitableChild: () => number
  /**
   * SIGTTIN and SIGTTOU to SIG_IGN, as an init must once its child owns the terminal. Node
   * listeners cannot do this: the tty driver only lets a background writer through when the
   * signal is ignored or blocked (see native/src/addon.c).
   */
  readonly ignoreTtyStops: () => void
  /** A close-on-exec OS pipe: [readFd, writeFd]. */
  readonly pipe: () => [number, number]
  readonly tcgetpgrp: (fd: number) => number
  readonly tcsetpgrp: (fd: number, pgid: number) => void
  readonly getpgrp: () => number
  /** malloc_trim(0): freed heap memory back to the kernel; true when some was released (glibc only). */
  readonly trimMalloc: () => boolean
  /**
   * PID 1's boot hardening: every fd >= 3 close-on-exec, not dumpable, soft RLIMIT_CORE 0 (hard kept).
   * Returns the soft core limit it replaced ("unlimited" or bytes) for the children (see execShim.ts).
   */
  readonly hardenSelf: () => string
}

const native = createRequire(import.meta.url)("@clawkerd/native") as {
  readonly addon: NativeAddon
  readonly execShimPath: string
}

export const addon: NativeAddon = native.addon
/** native/src/exec_shim.c, built next to the addon. */
export const execShimPath: string = native.execShimPath
