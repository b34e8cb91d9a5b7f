import type { Command, PipeStage, ShellCommand } from "../../gen/clawker/clawkerd/v1/clawkerd.js"

/** Command constructors for CP-side tools: every field present, so what is sent is what you read. */
export const hello = (commandId = ""): Command => ({ commandId, payload: { $case: "hello", value: {} } })

export const stage = (argv: ReadonlyArray<string>, options: Partial<Omit<PipeStage, "argv">> = {}): PipeStage => ({
  argv: [...argv],
  uid: options.uid ?? 0,
  gid: options.gid ?? 0,
  cwd: options.cwd ?? "",
  env: options.env ?? {}
})

export const shell = (
  commandId: string,
  stages: ReadonlyArray<PipeStage>,
  options: Partial<Omit<ShellCommand, "stages">> = {}
): Command => ({
  commandId,
  payload: {
    $case: "shell",
    value: {
      stages: [...stages],
      timeoutSeconds: options.timeoutSeconds ?? 0,
      initialStdin: options.initialStdin ?? Buffer.alloc(0),
      printOutput: options.printOutput ?? false,
      exitOnNonZero: options.exitOnNonZero ?? false
    }
  }
})

/** `sh -c script` as a one-stage ShellCommand, the way CP runs its init steps. */
export const sh = (commandId: string, script: string, options: Partial<Omit<ShellCommand, "stages">> = {}): Command =>
  shell(commandId, [stage(["sh", "-c", script])], options)

export const stdin = (commandId: string, data: Uint8Array | string): Command => ({
  commandId,
  payload: { $case: "stdin", value: { data: Buffer.from(data) } }
})

export const closeStdin = (commandId: string): Command => ({
  commandId,
  payload: { $case: "closeStdin", value: {} }
})

export const signal = (commandId: string, signo: number): Command => ({
  commandId,
  payload: { $case: "signal", value: { signo } }
})

export const registerRequired = (commandId: string): Command => ({
  commandId,
  payload: { $case: "registerRequired", value: {} }
})

export const agentReady = (commandId: string, defaultCmd = ""): Command => ({
  commandId,
  payload: { $case: "agentReady", value: { defaultCmd } }
})

export const agentInitialized = (commandId: string): Command => ({
  commandId,
  payload: { $case: "agentInitialized", value: {} }
})
