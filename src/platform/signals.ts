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

/** They start shutdown. SIGINT is also forwarded as itself; the Supervisor's stop sends the SIGTERM. */
export const SHUTDOWN_SIGNALS: ReadonlyArray<NodeJS.Signals> = ["SIGTERM", "SIGINT"]

/**
 * What clawkerd forwards to the user CMD's process group, once it runs: the spec's list (SIGHUP,
 * SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTSTP, SIGCONT, SIGWINCH) with two
 * changes. SIGTERM is sent once, by the stop it starts, not twice. SIGPIPE is left out on purpose: Node
 * ignores it because its own writes raise it, and a listener would turn every write to a shell stage
 * that has gone into a SIGPIPE for the user CMD, whose default action ends it.
 */
export const FORWARDED_SIGNALS: ReadonlyArray<NodeJS.Signals> = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGALRM",
  "SIGTSTP",
  "SIGCONT",
  "SIGWINCH"
]
