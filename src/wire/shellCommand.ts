import type { ShellCommand } from "../gen/clawker/clawkerd/v1/clawkerd.js"

/** The spec's INVALID_REQUEST checks of a ShellCommand; anything else is accepted as given. */
export const shellCommandProblem = (command: ShellCommand): string | undefined => {
  if (command.stages.length === 0) return "shell: stages must not be empty"
  const empty = command.stages.findIndex((stage) => stage.argv.length === 0)
  if (empty >= 0) return `shell: stage[${empty}] argv must not be empty`
  // The reference would run uid-only as root's group, gid-only as root: half a privilege drop.
  const half = command.stages.findIndex((stage) => (stage.uid === 0) !== (stage.gid === 0))
  if (half < 0) return undefined
  const { gid, uid } = command.stages[half]!
  return uid === 0
    ? `shell: stage[${half}] uid must be non-zero when gid is (gid ${gid}); set both or neither`
    : `shell: stage[${half}] gid must be non-zero when uid is (uid ${uid}); set both or neither`
}

/** How one stage ended, as StageExit carries it. */
export interface StageStatus {
  readonly exitCode: number
  readonly signo: number
}

/** A stage whose status was never learned. */
export const NO_STATUS: StageStatus = { exitCode: -1, signo: 0 }

/** exit_code is -1 when a signal ended the stage. */
export const stageStatus = (code: number | null, signo: number | null): StageStatus =>
  signo !== null && signo > 0 ? { exitCode: -1, signo } : code !== null ? { exitCode: code, signo: 0 } : NO_STATUS
