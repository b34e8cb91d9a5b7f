import { constants } from "node:os"

/** Linux's SIGRTMAX: kill(2) knows no signal above it. */
export const MAX_SIGNAL = 64

/** Why a Signal frame's signo is refused, or undefined when kill(2) can take it. */
export const signoProblem = (signo: number): string | undefined => {
  if (!Number.isInteger(signo) || signo <= 0) return "signal: signo must be a positive integer"
  if (signo > MAX_SIGNAL) return `signal: signo ${signo} is above the highest signal number ${MAX_SIGNAL}`
  return undefined
}

/** Node reports a signal death by name; the wire wants the number. */
export const signalNumber = (name: NodeJS.Signals): number => constants.signals[name]

/** They start shutdown instead of being forwarded; the Supervisor's stop then sends SIGTERM to the group. */
export const SHUTDOWN_SIGNALS: ReadonlyArray<NodeJS.Signals> = ["SIGTERM", "SIGINT"]

/**
 * What clawkerd forwards to the user CMD's process group. Node 20 lets a listener catch every
 * named signal but SIGKILL and SIGSTOP (measured); real-time signals have no name and cannot be
 * caught. From the catchable ones the spec leaves out SIGCHLD (the Reaper's) and the program-error
 * signals (SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT/SIGIOT, SIGTRAP, SIGSYS); SIGTTIN and SIGTTOU
 * are ignored, not forwarded; SIGTERM and SIGINT are SHUTDOWN_SIGNALS. SIGPIPE and SIGXFSZ stay
 * out too: Node ignores them because its own writes raise them, and a listener would turn a write
 * to a dead shell stage into a SIGPIPE for the user CMD. SIGPOLL is SIGIO, listed once.
 * Listening on SIGUSR1 also keeps it from opening Node's inspector port inside the container.
 */
export const FORWARDED_SIGNALS: ReadonlyArray<NodeJS.Signals> = [
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGALRM",
  "SIGSTKFLT",
  "SIGCONT",
  "SIGTSTP",
  "SIGURG",
  "SIGXCPU",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR"
]
