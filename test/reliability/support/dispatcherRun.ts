import fc from "fast-check"
import { expect } from "vitest"
import type { Command, Response } from "../../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { descendantsOf, readProcTable } from "../../../src/layers/reaper/procTable.js"
import * as C from "../../../src/programs/cp/commands.js"
import { waitFor } from "../../support/wait.js"
import type { Op } from "./dispatcherModel.js"
import { answeredShells, opArbitrary, roleOf, SHELL_IDS, uniqueHellos, violations } from "./dispatcherModel.js"
import { ownSession } from "./hostile.js"
import { cpCredentialsOf } from "./hostileScenario.js"
import type { ShellRig } from "./rigs.js"

/** How long a ShellCommand id may take to get its answers once its stdin is closed. */
const SETTLE_MS = 20_000

/** Events that mean the dispatcher or a worker crashed. */
const CRASH_EVENTS = ["shell_worker_crashed", "session_dispatch_failed", "shell_stage_reaper_panic", "session_failed"]

const count = (commands: ReadonlyArray<Command>, test: (c: Command) => boolean) => commands.filter(test).length
const isKind = (kind: string) => (c: Command) => c.payload?.$case === kind
const isFrame = (c: Command) => ["stdin", "closeStdin", "signal"].includes(c.payload?.$case ?? "")

const ofId = (replies: ReadonlyArray<Response>, id: string) => replies.filter((r) => r.commandId === id)

/** The invariants that hold whatever way the Session ended. */
const checkAlways = (sent: ReadonlyArray<Command>, replies: ReadonlyArray<Response>) => {
  const ids = new Set(sent.map((c) => c.commandId))
  expect(replies.filter((r) => !ids.has(r.commandId)), "replies to ids never sent").toEqual([])
  for (const id of SHELL_IDS) expect(violations(id, ofId(replies, id))).toEqual([])
  for (const hello of sent.filter((c) => isKind("hello")(c) && c.commandId !== "")) {
    const answers = ofId(replies, hello.commandId)
    expect(answers.length).toBeLessThanOrEqual(1)
    if (answers.length === 1) expect(answers[0]!.payload?.$case).toBe("helloAck")
  }
  expect(ofId(replies, "ghost").every((r) => roleOf(r) === "frameAnswer")).toBe(true)
}

/** After a clean end, where every command ran to its end: the exact counts. */
const checkComplete = (sent: ReadonlyArray<Command>, replies: ReadonlyArray<Response>) => {
  for (const hello of sent.filter((c) => isKind("hello")(c) && c.commandId !== "")) {
    expect(ofId(replies, hello.commandId)).toHaveLength(1)
  }
  const empty = ofId(replies, "")
  const emptySent = sent.filter((c) => c.commandId === "")
  expect(empty.filter((r) => r.payload?.$case === "helloAck")).toHaveLength(count(emptySent, isKind("hello")))
  const required = empty.filter((r) =>
    r.payload?.$case === "error" && r.payload.value.message === "command_id required"
  )
  expect(required).toHaveLength(count(emptySent, (c) => !isKind("hello")(c)))
  expect(empty).toHaveLength(emptySent.length)
  expect(ofId(replies, "ghost")).toHaveLength(count(sent, (c) => c.commandId === "ghost"))
  for (const id of SHELL_IDS) {
    const mine = sent.filter((c) => c.commandId === id)
    const answers = ofId(replies, id)
    expect(answeredShells(answers), `ShellCommands on "${id}" answered once each`).toBe(count(mine, isKind("shell")))
    expect(answers.filter((r) => roleOf(r) === "frameAnswer").length).toBeLessThanOrEqual(count(mine, isFrame))
  }
}

/** Counts of one run, for the report. */
export interface RunTally {
  readonly commands: number
  readonly shells: number
}

/**
 * One random sequence on a fresh Session. `close`: after the sequence every id's stdin is closed,
 * every command ends, then the Session is half-closed; `cancel`: the Session is cancelled with
 * whatever still runs. Either way no process of it may survive.
 */
export const runSequence = async (rig: ShellRig, ops: ReadonlyArray<Op>, ending: "close" | "cancel") => {
  const s = ownSession(rig.address, cpCredentialsOf(rig.fx.deployment))
  const sent: Array<Command> = []
  const send = (command: Command) => {
    sent.push(command)
    s.send(command)
  }
  const settle = async (id: string) => {
    send(C.closeStdin(id))
    const shells = count(sent, (c) => c.commandId === id && isKind("shell")(c))
    await waitFor(() => answeredShells(ofId(s.received, id)) >= shells, SETTLE_MS, `ShellCommands on "${id}" answered`)
  }
  for (const op of uniqueHellos(ops)) {
    if (op._tag === "send") send(op.command)
    else await settle(op.id)
  }
  if (ending === "close") {
    for (const id of SHELL_IDS) await settle(id)
    expect((await s.request(C.hello("fin"))).payload?.$case).toBe("helloAck")
    sent.push(C.hello("fin"))
    s.close()
  } else {
    s.cancel()
  }
  await s.ended
  await waitFor(
    () => descendantsOf(process.pid, readProcTable()).length === 0,
    10_000,
    "every process of the Session gone"
  )
  checkAlways(sent, s.received)
  if (ending === "close") checkComplete(sent, s.received)
  for (const event of CRASH_EVENTS) expect(rig.logs.events(event), event).toEqual([])
  return { commands: sent.length, shells: count(sent, isKind("shell")) } satisfies RunTally
}

/** Runs `numRuns` random sequences of up to `maxOps` operations; returns the totals. */
export const checkDispatcher = async (rig: ShellRig, numRuns: number, maxOps: number) => {
  const totals = { runs: 0, commands: 0, shells: 0 }
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArbitrary, { minLength: Math.ceil(maxOps / 2), maxLength: maxOps }),
      fc.constantFrom("close" as const, "cancel" as const),
      async (ops, ending) => {
        const tally = await runSequence(rig, ops, ending)
        totals.runs++
        totals.commands += tally.commands
        totals.shells += tally.shells
      }
    ),
    { numRuns, endOnFailure: true }
  )
  return totals
}
