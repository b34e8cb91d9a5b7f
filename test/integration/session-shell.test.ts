import { Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { ExitRequestLive } from "../../src/layers/lifecycle/ExitRequestLive.js"
import { ProcessRegistryLive } from "../../src/layers/reaper/ProcessRegistryLive.js"
import { OUTPUT_READ_SIZE } from "../../src/layers/shell/outputDrain.js"
import { ShellExecutorLive } from "../../src/layers/shell/ShellExecutorLive.js"
import * as C from "../../src/programs/cp/commands.js"
import { outputOf } from "../../src/programs/cp/cpClient.js"
import { ExitRequest } from "../../src/services/ExitRequest.js"
import { ProgressReporter } from "../../src/services/ProgressReporter.js"
import { FRAME_ROOM } from "../../src/wire/frameRoom.js"
import { outputDataFitting } from "../../src/wire/responseFrame.js"
import { startListenerRig } from "../support/listenerRig.js"
import { waitFor } from "../support/wait.js"

const MiB = 1024 * 1024
const progressCalls: Array<string> = []
const RecordingProgress = Layer.succeed(
  ProgressReporter,
  ProgressReporter.of({
    banner: Effect.void,
    startStep: (id) => Effect.sync(() => void progressCalls.push(`start ${id}`)),
    endStep: (id, ok) => Effect.sync(() => void progressCalls.push(`end ${id} ${ok}`)),
    echo: () => Effect.void,
    final: Effect.void,
    mute: Effect.sync(() => void progressCalls.push("mute"))
  })
)

const capabilities = Layer.mergeAll(
  ShellExecutorLive.pipe(Layer.provide(ProcessRegistryLive)),
  ExitRequestLive,
  RecordingProgress
)
const startRig = () => startListenerRig({ capabilities })
let rig: Awaited<ReturnType<typeof startRig>>
const unhandled: Array<unknown> = []
const onUnhandled = (reason: unknown) => void unhandled.push(reason)

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled)
  rig = await startRig()
})
afterAll(async () => {
  await rig.close()
  process.off("unhandledRejection", onUnhandled)
  expect(unhandled).toEqual([])
})

const childrenOf = (pid: number) =>
  fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ")[1] === String(pid)
    } catch {
      return false
    }
  })

describe("Session dispatch with the ShellExecutor wired", () => {
  it("runs a pipeline and answers Started, output, StageExit, Done", async () => {
    const s = rig.session()
    s.send(C.shell("p1", [C.stage(["printf", "b\\na\\n"]), C.stage(["sort"])]))
    const replies = await s.collectUntilTerminal("p1")
    expect(replies[0]!.payload?.$case).toBe("started")
    expect(outputOf(replies).toString()).toBe("a\nb\n")
    expect(replies.filter((r) => r.payload?.$case === "stageExit")).toHaveLength(2)
    expect(replies.at(-1)!.payload).toEqual({ $case: "done", value: { finalExitCode: 0 } })
    s.close()
    await s.ended
  })

  it("command_id rules: a duplicate running id, Stdin/CloseStdin/Signal for an unknown id", async () => {
    const s = rig.session()
    s.send(C.shell("dup", [C.stage(["sleep", "30"])]))
    expect((await s.next("dup")).payload?.$case).toBe("started")
    expect((await s.request(C.sh("dup", "true"))).payload).toEqual({
      $case: "error",
      value: { code: ErrorCode.ERROR_CODE_INVALID_REQUEST, message: "shell: command_id already in use" }
    })
    for (
      const [command, message] of [
        [C.stdin("ghost", "x"), "stdin: no running command with that id"],
        [C.closeStdin("ghost"), "close_stdin: no running command with that id"],
        [C.signal("ghost", 15), "signal: no running command with that id"]
      ] as const
    ) {
      expect((await s.request(command)).payload).toEqual({
        $case: "error",
        value: { code: ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID, message }
      })
    }
    expect((await s.request(C.signal("dup", 0))).payload).toMatchObject({
      value: { code: ErrorCode.ERROR_CODE_INVALID_REQUEST }
    })
    s.send(C.signal("dup", 15))
    const rest = await s.collectUntilTerminal("dup")
    expect(rest.at(-1)!.payload).toEqual({ $case: "done", value: { finalExitCode: -1 } })
    s.close()
    await s.ended
  })

  it("a Session cancelled mid-command ends cleanly: its process is killed, a new Session works", async () => {
    const s = rig.session()
    s.send(C.shell("long", [C.stage(["sleep", "300"])]))
    expect((await s.next("long")).payload?.$case).toBe("started")
    expect(childrenOf(process.pid).length).toBeGreaterThan(0)
    const ended = rig.logs.events("session_ended").length
    s.cancel()
    await waitFor(() => rig.logs.events("session_ended").length > ended)
    await waitFor(() => childrenOf(process.pid).length === 0, 10_000, "sleep killed and reaped")
    const again = rig.session()
    expect((await again.request(C.hello("h"))).payload?.$case).toBe("helloAck")
    again.close()
    await again.ended
  })

  it("several commands run concurrently in one Session", async () => {
    const s = rig.session()
    const ids = Array.from({ length: 8 }, (_, i) => `c${i}`)
    for (const id of ids) s.send(C.shell(id, [C.stage(["echo", id]), C.stage(["cat"])]))
    const all = await Promise.all(ids.map((id) => s.collectUntilTerminal(id)))
    all.forEach((replies, i) => {
      expect(outputOf(replies).toString()).toBe(`c${i}\n`)
      expect(replies.at(-1)!.payload).toEqual({ $case: "done", value: { finalExitCode: 0 } })
    })
    s.close()
    await s.ended
  })

  it(
    "large outputs of two commands arrive intact while their read buffers are reused once each chunk was written",
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "session-output-"))
      const payloads = [randomBytes(16 * MiB), randomBytes(16 * MiB)]
      payloads.forEach((p, i) => fs.writeFileSync(path.join(dir, `p${i}`), p))
      const allocations = vi.spyOn(Buffer, "allocUnsafeSlow")
      const grpcCopies = vi.spyOn(Buffer, "allocUnsafe")
      try {
        const s = rig.session()
        payloads.forEach((_, i) => s.send(C.shell(`big${i}`, [C.stage(["cat", path.join(dir, `p${i}`)])])))
        const all = await Promise.all(payloads.map((_, i) => s.collectUntilTerminal(`big${i}`)))
        const reads = allocations.mock.calls.filter(([size]) => size === FRAME_ROOM + OUTPUT_READ_SIZE).length
        // grpc-js framed each message into a new buffer of its own; an OutputChunk is now its own message.
        const copies = grpcCopies.mock.calls.filter(([size]) => size >= OUTPUT_READ_SIZE / 2).length
        all.forEach((replies, i) => {
          expect(replies.at(-1)!.payload).toEqual({ $case: "done", value: { finalExitCode: 0 } })
          expect(outputOf(replies).equals(payloads[i]!)).toBe(true)
        })
        // Full reads are fitted so that each message fills two HTTP/2 frames exactly.
        all.forEach((replies, i) => {
          const sizes = replies.flatMap((r) => (r.payload?.$case === "output" ? [r.payload.value.data.length] : []))
          expect(Math.max(...sizes)).toBe(outputDataFitting(`big${i}`, OUTPUT_READ_SIZE))
        })
        const chunks = all.flat().filter((r) => r.payload?.$case === "output").length
        // Without reuse every full read is a new buffer: about one per chunk.
        expect(reads).toBeLessThan(chunks / 2)
        expect(copies).toBeLessThan(chunks / 10)
        s.close()
        await s.ended
      } finally {
        allocations.mockRestore()
        grpcCopies.mockRestore()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
    60_000
  )

  it("init steps: start line at dispatch, completion line after the terminal reply was written", async () => {
    progressCalls.length = 0
    const s = rig.session()
    s.send(C.sh("init-abcdef012345-post-init-1", "exit 1"))
    await s.collectUntilTerminal("init-abcdef012345-post-init-1")
    s.send(C.sh("init-abcdef012345-git-2", "true"))
    await s.collectUntilTerminal("init-abcdef012345-git-2")
    s.close()
    await s.ended
    await waitFor(() => progressCalls.includes("mute"))
    expect(progressCalls).toEqual([
      "start init-abcdef012345-post-init-1",
      "end init-abcdef012345-post-init-1 false",
      "start init-abcdef012345-git-2",
      "end init-abcdef012345-git-2 true",
      "mute"
    ])
  })

  it("the CP's CloseStdin after a step that already answered is silent: no Error, no ✗ after the ✓", async () => {
    progressCalls.length = 0
    const id = "init-abcdef012345-config-1"
    const s = rig.session()
    s.send(C.sh(id, "true"))
    await s.collectUntilTerminal(id)
    s.send(C.closeStdin(id))
    // A Hello behind it: once its answer is in, anything the CloseStdin caused would be too.
    expect((await s.request(C.hello("after"))).payload?.$case).toBe("helloAck")
    expect(s.received.filter((r) => r.commandId === id).map((r) => r.payload?.$case)).toEqual([
      "started",
      "stageExit",
      "done"
    ])
    // The other late frames for that id keep their answers.
    expect((await s.request(C.stdin(id, "x"))).payload).toMatchObject({
      value: { code: ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID, message: "stdin: no running command with that id" }
    })
    expect((await s.request(C.signal(id, 15))).payload).toMatchObject({
      value: { code: ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID, message: "signal: no running command with that id" }
    })
    s.close()
    await s.ended
    await waitFor(() => progressCalls.includes("mute"))
    expect(progressCalls.filter((c) => c.startsWith(`end ${id}`))[0]).toBe(`end ${id} true`)
  })

  it("exit_on_non_zero: the daemon is asked to exit with 3 and the Session's Stop, which kills the other commands; CP has Done{3}", async () => {
    const s = rig.session()
    s.send(C.shell("bystander", [C.stage(["sleep", "300"])], { exitOnNonZero: true }))
    expect((await s.next("bystander")).payload?.$case).toBe("started")
    s.send(C.sh("init-abcdef012345-pre-run-1", "exit 3", { exitOnNonZero: true }))
    const replies = await s.collectUntilTerminal("init-abcdef012345-pre-run-1")
    expect(replies.at(-1)!.payload).toEqual({ $case: "done", value: { finalExitCode: 3 } })
    const { code, settle } = await rig.run(Effect.flatMap(ExitRequest, (e) => e.requested))
    expect(code).toBe(3)
    // What main does before its shutdown: the asking Session's Stop.
    await rig.run(settle)
    expect(rig.logs.events("command_exit_on_non_zero")[0]).toMatchObject({
      command_id: "init-abcdef012345-pre-run-1",
      final_exit_code: 3,
      mirrored_exit_code: 3
    })
    await waitFor(() => childrenOf(process.pid).length === 0, 10_000, "bystander killed")
    // The bystander died of the Session's Stop: its own exit_on_non_zero must not end the daemon.
    await waitFor(() => rig.logs.events("command_exit_on_non_zero_ignored_on_teardown").length > 0)
    expect(rig.logs.events("command_exit_on_non_zero_ignored_on_teardown").map((e) => e.command_id)).toEqual([
      "bystander"
    ])
    s.cancel()
    await s.ended
  })
})
