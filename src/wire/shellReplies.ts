import type { Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../gen/clawker/clawkerd/v1/clawkerd.js"
import { errnoText } from "../lib/errorText.js"
import type { StageStatus } from "./shellCommand.js"

export { done, error } from "./responses.js"
import { error } from "./responses.js"

/** The replies only a running ShellCommand produces. */
export const started = (commandId: string): Response => ({ commandId, payload: { $case: "started", value: {} } })

export const output = (commandId: string, data: Buffer): Response => ({
  commandId,
  payload: { $case: "output", value: { data } }
})

export const stageExit = (commandId: string, stageIndex: number, status: StageStatus): Response => ({
  commandId,
  payload: { $case: "stageExit", value: { stageIndex, exitCode: status.exitCode, signo: status.signo } }
})

/** The terminal reply of a command whose worker crashed. */
export const crashed = (commandId: string, defect: unknown): Response =>
  error(commandId, ErrorCode.ERROR_CODE_IO_ERROR, `shell: worker crashed: ${errnoText(defect)}`)
