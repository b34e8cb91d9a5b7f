import { describe, expect, it } from "@effect/vitest"
import type { PipeStage, ShellCommand } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { MAX_SIGNAL, signalNumber, signoProblem } from "../../src/platform/signals.js"
import { NO_STATUS, shellCommandProblem, stageStatus } from "../../src/wire/shellCommand.js"

const stage = (argv: Array<string>): PipeStage => ({ argv, uid: 0, gid: 0, cwd: "", env: {} })
const command = (stages: Array<PipeStage>): ShellCommand => ({
  stages,
  timeoutSeconds: 0,
  initialStdin: Buffer.alloc(0),
  printOutput: false,
  exitOnNonZero: false
})

describe("ShellCommand validation", () => {
  it("no stages, then the first stage with an empty argv, then half a uid/gid pair; nothing else", () => {
    expect(shellCommandProblem(command([]))).toBe("shell: stages must not be empty")
    expect(shellCommandProblem(command([stage(["a"]), stage([]), stage([])]))).toBe(
      "shell: stage[1] argv must not be empty"
    )
    expect(shellCommandProblem(command([stage([""])]))).toBeUndefined()
    expect(shellCommandProblem(command([{ ...stage(["x"]), uid: 4242, gid: 4242, cwd: "/nowhere" }])))
      .toBeUndefined()
  })

  it("exactly one of uid/gid non-zero is refused, naming the field that is missing", () => {
    expect(shellCommandProblem(command([stage(["a"]), { ...stage(["b"]), uid: 1001 }]))).toBe(
      "shell: stage[1] gid must be non-zero when uid is (uid 1001); set both or neither"
    )
    expect(shellCommandProblem(command([{ ...stage(["a"]), gid: 1001 }]))).toBe(
      "shell: stage[0] uid must be non-zero when gid is (gid 1001); set both or neither"
    )
  })
})

describe("signal numbers", () => {
  it("1..64 are valid; 0 and negatives say 'positive integer'; above 64 names the limit", () => {
    expect(MAX_SIGNAL).toBe(64)
    for (const ok of [1, 9, 15, 34, 64]) expect(signoProblem(ok)).toBeUndefined()
    for (const bad of [0, -1, -15]) expect(signoProblem(bad)).toBe("signal: signo must be a positive integer")
    expect(signoProblem(65)).toBe("signal: signo 65 is above the highest signal number 64")
  })

  it("Node's signal names map to Linux numbers", () => {
    expect(signalNumber("SIGKILL")).toBe(9)
    expect(signalNumber("SIGTERM")).toBe(15)
  })
})

describe("StageExit status", () => {
  it("exit status with signo 0; a signal with exit_code -1; no status at all -1/0", () => {
    expect(stageStatus(3, null)).toEqual({ exitCode: 3, signo: 0 })
    expect(stageStatus(null, 15)).toEqual({ exitCode: -1, signo: 15 })
    expect(stageStatus(null, null)).toEqual(NO_STATUS)
    expect(NO_STATUS).toEqual({ exitCode: -1, signo: 0 })
  })
})
