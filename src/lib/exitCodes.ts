/** Exit codes of the daemon's failure model (../shared/spec/supervisor-register-lifecycle.md). */
export const EXIT_CONFIG = 2
export const EXIT_TRANSIENT = 1

/** bash convention: the exit status, or 128 + the signal number for a signal death. */
export const bashExitCode = (code: number | null, signo: number | null): number =>
  signo !== null && signo > 0 ? 128 + signo : code ?? 1

/** exit_on_non_zero mirrors the command's code when it is a valid exit status, else 1. */
export const mirroredExitCode = (finalExitCode: number): number =>
  finalExitCode >= 0 && finalExitCode <= 255 ? finalExitCode : 1

/**
 * The spec's last rule (supervisor-register-lifecycle.md §8): a run that would exit 0 exits 1 when
 * something failed on the way out (a listener fatal, an orphan drain that gave up); any other code stays.
 */
export const withFailure = (code: number, failure: string | undefined): number =>
  code === 0 && failure !== undefined ? EXIT_TRANSIENT : code
