import type { ErrorCode, Response } from "../gen/clawker/clawkerd/v1/clawkerd.js"

/** Response constructors shared by the dispatcher and the executor, so every reply has one exact shape. */
export const helloAck = (commandId: string, initialized: boolean, cmdRunning: boolean): Response => ({
  commandId,
  payload: { $case: "helloAck", value: { initialized, cmdRunning } }
})

export const done = (commandId: string, finalExitCode: number): Response => ({
  commandId,
  payload: { $case: "done", value: { finalExitCode } }
})

export const error = (commandId: string, code: ErrorCode, message: string): Response => ({
  commandId,
  payload: { $case: "error", value: { code, message } }
})

export const registerDone = (commandId: string, ok: boolean, message: string): Response => ({
  commandId,
  payload: { $case: "registerDone", value: { ok, error: message } }
})

/** Terminal replies end a command: Done, Error and RegisterDone. */
export const isTerminal = (response: Response): boolean =>
  response.payload?.$case === "done" || response.payload?.$case === "error" ||
  response.payload?.$case === "registerDone"
