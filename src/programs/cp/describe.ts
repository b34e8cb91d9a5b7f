import type { Command, Response } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../../gen/clawker/clawkerd/v1/clawkerd.js"

/** One-line renderings of Commands and Responses, for people reading a Session (demo, CLI). */

const errorName = (code: ErrorCode) => (ErrorCode[code] ?? String(code)).replace(/^ERROR_CODE_/, "")

export const describeCommand = (command: Command): string => {
  const payload = command.payload
  if (payload === undefined) return "(no payload)"
  switch (payload.$case) {
    case "shell":
      return `ShellCommand ${payload.value.stages.map((s) => s.argv.join(" ")).join(" | ")}`
    case "agentReady":
      return payload.value.defaultCmd === "" ? "AgentReady" : `AgentReady{default_cmd=${payload.value.defaultCmd}}`
    case "signal":
      return `Signal{${payload.value.signo}}`
    case "stdin":
      return `Stdin{${payload.value.data.byteLength} B}`
    default:
      return payload.$case[0]!.toUpperCase() + payload.$case.slice(1)
  }
}

export const describeResponse = (response: Response): string => {
  const payload = response.payload
  switch (payload?.$case) {
    case undefined:
      return "(no payload)"
    case "helloAck":
      return `HelloAck{initialized=${payload.value.initialized}, cmd_running=${payload.value.cmdRunning}}`
    case "registerDone":
      return payload.value.ok ? "RegisterDone{ok}" : `RegisterDone{failed: ${payload.value.error}}`
    case "done":
      return `Done{${payload.value.finalExitCode}}`
    case "error":
      return `Error{${errorName(payload.value.code)}: ${payload.value.message}}`
    case "output":
      return `Output{${payload.value.data.byteLength} B}`
    case "stageExit":
      return `StageExit[${payload.value.stageIndex}]{${
        payload.value.signo > 0 ? `signal ${payload.value.signo}` : `exit ${payload.value.exitCode}`
      }}`
    case "started":
      return "Started"
  }
}

/** A ShellCommand's replies in one line: Started, how much output, each StageExit, the terminal reply. */
export const describeReplies = (responses: ReadonlyArray<Response>): string => {
  const output = responses.filter((r) => r.payload?.$case === "output")
  const bytes = output.reduce((n, r) => n + (r.payload?.$case === "output" ? r.payload.value.data.byteLength : 0), 0)
  const rest = responses.filter((r) => r.payload?.$case !== "output").map(describeResponse)
  if (output.length > 0) rest.splice(1, 0, `${output.length} output chunk(s), ${bytes} B`)
  return rest.join(", ")
}
