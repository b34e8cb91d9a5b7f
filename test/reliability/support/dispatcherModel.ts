import fc from "fast-check"
import type { Command, PipeStage, Response } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { ErrorCode } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../../../src/programs/cp/commands.js"

/*
 * A model of what one Session may be sent, and what its replies must look like, for the
 * property-based dispatcher test: ShellCommands on a few shared ids (so ids collide and are
 * reused), Stdin/CloseStdin/Signal for those ids, unknown ones and the empty one, in any order.
 */

/** The ids ShellCommands use; `ghost` is never a ShellCommand's. */
export const SHELL_IDS = ["a", "b", "c"] as const
const FRAME_IDS = [...SHELL_IDS, "ghost", ""] as const

/** Short real programs; `cat` runs until its stdin is closed. */
const PROGRAMS: ReadonlyArray<ReadonlyArray<PipeStage>> = [
  [C.stage(["true"])],
  [C.stage(["echo", "x"])],
  [C.stage(["sh", "-c", "exit 3"])],
  [C.stage(["sleep", "0.05"])],
  [C.stage(["cat"])],
  [C.stage(["echo", "hi"]), C.stage(["cat"])],
  [C.stage(["cat"]), C.stage(["wc", "-c"])],
  [C.stage(["/nonexistent/program"])],
  [],
  [C.stage([])]
]

export type Op =
  | { readonly _tag: "send"; readonly command: Command }
  /** Wait until every ShellCommand sent so far on `id` has its answer. */
  | { readonly _tag: "settle"; readonly id: string }

const shellOp = fc.record({
  id: fc.constantFrom<string>(...SHELL_IDS, ""),
  stages: fc.constantFrom(...PROGRAMS),
  initialStdin: fc.option(fc.constantFrom("in\n", "more input\n"), { nil: undefined })
}).map(({ id, initialStdin, stages }): Op => ({
  _tag: "send",
  command: C.shell(id, stages, initialStdin === undefined ? {} : { initialStdin: Buffer.from(initialStdin) })
}))

const frameId = fc.constantFrom<string>(...FRAME_IDS)

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: shellOp },
  { weight: 2, arbitrary: frameId.map((id): Op => ({ _tag: "send", command: C.stdin(id, "data\n") })) },
  { weight: 2, arbitrary: frameId.map((id): Op => ({ _tag: "send", command: C.closeStdin(id) })) },
  {
    weight: 2,
    arbitrary: fc.tuple(frameId, fc.constantFrom(0, -1, 9, 10, 15, 28, 65)).map(([id, signo]): Op => ({
      _tag: "send",
      command: C.signal(id, signo)
    }))
  },
  { weight: 2, arbitrary: fc.constantFrom("hello", "").map((id): Op => ({ _tag: "send", command: C.hello(id) })) },
  { weight: 1, arbitrary: fc.constantFrom<string>(...SHELL_IDS).map((id): Op => ({ _tag: "settle", id })) }
)

/** Hello ids are made unique per run, so each HelloAck can be matched to its Hello. */
export const uniqueHellos = (ops: ReadonlyArray<Op>): Array<Op> =>
  ops.map((op, i) =>
    op._tag === "send" && op.command.payload?.$case === "hello" && op.command.commandId !== ""
      ? { _tag: "send", command: C.hello(`hello-${i}`) }
      : op
  )

const errorOf = (r: Response) => (r.payload?.$case === "error" ? r.payload.value : undefined)

/** How a reply to a ShellCommand id counts. */
export type Role =
  | "started"
  | "chunk"
  | "stageExit"
  | "done"
  /** An Error that ends a started command (SPAWN_FAILED, TIMEOUT, IO_ERROR). */
  | "terminalError"
  /** An Error answering a ShellCommand that was never accepted. */
  | "shellRejected"
  /** An Error answering a misused Stdin/CloseStdin/Signal: not terminal for anything. */
  | "frameAnswer"
  | "other"

const SHELL_REJECTIONS = [
  /^shell: stages must not be empty$/,
  /^shell: stage\[\d+\] argv must not be empty$/,
  /^shell: command_id already in use$/
]
const FRAME_ANSWERS = [
  /^(stdin|close_stdin|signal): no running command with that id$/,
  /^stdin: already closed$/,
  /^signal: signo /
]

export const roleOf = (r: Response): Role => {
  switch (r.payload?.$case) {
    case "started":
      return "started"
    case "output":
      return "chunk"
    case "stageExit":
      return "stageExit"
    case "done":
      return "done"
    case "error": {
      const { code, message } = r.payload.value
      if (SHELL_REJECTIONS.some((re) => re.test(message))) return "shellRejected"
      if (FRAME_ANSWERS.some((re) => re.test(message))) return "frameAnswer"
      return [ErrorCode.ERROR_CODE_SPAWN_FAILED, ErrorCode.ERROR_CODE_TIMEOUT, ErrorCode.ERROR_CODE_IO_ERROR].includes(
          code
        )
        ? "terminalError"
        : "other"
    }
    default:
      return "other"
  }
}

/** Number of ShellCommands that have their one answer (a terminal reply or a rejection). */
export const answeredShells = (replies: ReadonlyArray<Response>): number =>
  replies.filter((r) => ["done", "terminalError", "shellRejected"].includes(roleOf(r))).length

/**
 * The replies of one ShellCommand id, in arrival order, as a state machine: at most one command
 * runs per id; Started opens it, chunks and StageExits only while it runs, Done or a terminal Error
 * closes it (SPAWN_FAILED may come without Started); Done carries the last stage's exit code.
 * Returns the violations (empty when the sequence is well formed).
 */
export const violations = (id: string, replies: ReadonlyArray<Response>): Array<string> => {
  const problems: Array<string> = []
  let running = false
  let stageExits = new Map<number, number>()
  for (const [i, r] of replies.entries()) {
    const role = roleOf(r)
    const at = `${id}#${i} ${JSON.stringify(r.payload)}`
    switch (role) {
      case "started":
        if (running) problems.push(`${at}: Started while a command with this id runs`)
        running = true
        stageExits = new Map()
        break
      case "chunk":
        if (!running) problems.push(`${at}: output outside a running command`)
        break
      case "stageExit":
        if (!running) problems.push(`${at}: StageExit outside a running command`)
        if (r.payload?.$case === "stageExit") {
          const { exitCode, stageIndex } = r.payload.value
          if (stageExits.has(stageIndex)) problems.push(`${at}: second StageExit for stage ${stageIndex}`)
          stageExits.set(stageIndex, exitCode)
        }
        break
      case "done": {
        if (!running) problems.push(`${at}: Done without a running command`)
        const last = Math.max(...stageExits.keys())
        if (stageExits.size !== last + 1) problems.push(`${at}: StageExits ${[...stageExits.keys()]} are not 0..n-1`)
        if (r.payload?.$case === "done" && r.payload.value.finalExitCode !== stageExits.get(last)) {
          problems.push(`${at}: Done is not the last stage's code ${stageExits.get(last)}`)
        }
        running = false
        break
      }
      case "terminalError":
        // SPAWN_FAILED replaces Started; TIMEOUT and IO_ERROR end a command that started.
        if (running === (errorOf(r)?.code === ErrorCode.ERROR_CODE_SPAWN_FAILED)) {
          problems.push(`${at}: terminal Error ${running ? "while" : "without"} a running command`)
        }
        running = false
        break
      case "other":
        problems.push(`${at}: not a reply a ShellCommand id can get`)
        break
      default:
        break
    }
  }
  return problems
}
