import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makePipeCloser } from "../../src/layers/shell/pipeCloser.js"
import { captureLogs } from "../support/logs.js"

const errno = (code: string) => Object.assign(new Error(`close failed: ${code}`), { code })

describe("pipe close errors", () => {
  it.effect("5 failing closes: close is still called 5 times, one Warn, then one summary with suppressed = 4", () => {
    const logs = captureLogs()
    const calls: Array<number> = []
    const closer = makePipeCloser("cmd", (fd) => {
      calls.push(fd)
      throw errno("EIO")
    })
    return Effect.gen(function*() {
      for (const fd of [10, 11, 12, 13, 14]) yield* closer.close(fd, `pipe-${fd}`)
      yield* closer.report
      expect(calls).toEqual([10, 11, 12, 13, 14])
      expect(logs.events("session_pipe_close_failed")).toMatchObject([
        { level: "warn", command_id: "cmd", pipe: "pipe-10" }
      ])
      expect(logs.events("session_pipe_close_failed_suppressed")).toMatchObject([
        { level: "warn", command_id: "cmd", suppressed: 4 }
      ])
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a closed-pipe error is neither logged nor counted", () => {
    const logs = captureLogs()
    let calls = 0
    const closer = makePipeCloser("cmd", () => {
      calls += 1
      throw errno("EBADF")
    })
    return Effect.gen(function*() {
      yield* closer.close(3, "a")
      yield* closer.close(4, "b")
      yield* closer.report
      expect(calls).toBe(2)
      expect(logs.records()).toEqual([])
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("one failure: one Warn and no summary", () => {
    const logs = captureLogs()
    let fail = true
    const closer = makePipeCloser("cmd", () => {
      if (fail) {
        fail = false
        throw errno("EIO")
      }
    })
    return Effect.gen(function*() {
      yield* closer.close(3, "a")
      yield* closer.close(4, "b")
      yield* closer.report
      expect(logs.records().map((r) => r.event)).toEqual(["session_pipe_close_failed"])
    }).pipe(Effect.provide(logs.layer))
  })
})
