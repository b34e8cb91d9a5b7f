import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { randomBytes } from "node:crypto"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { doneCode, errorOf, inSession, installLeakCheck, payloadCase, shell, stage } from "./shellHarness.js"

installLeakCheck()

describe("ShellExecutor: stdin", () => {
  it.live("cat round trip: initial_stdin, then Stdin frames, then CloseStdin", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("cat", shell([stage(["cat"])], { initialStdin: Buffer.from("hello ") }))
        yield* shells.stdin("cat", Buffer.from("wor"))
        yield* shells.stdin("cat", Buffer.from("ld"))
        yield* shells.closeStdin("cat")
        expect(doneCode(yield* sink.terminal("cat"))).toBe(0)
        expect(sink.output("cat").toString()).toBe("hello world")
        expect(sink.of("cat").some((r) => payloadCase(r) === "error")).toBe(false)
      })
    )
  })

  it.live("stage stdin and output are ordinary pipes: /dev/stdin opened by path, read from it, exec 0<&-", () => {
    const script = [
      "test -p /dev/stdin && test -p /dev/stdout && test -p /dev/stderr && echo pipes",
      "read first < /dev/stdin; echo \"first=$first\"",
      "cat /dev/stdin",
      "echo to-stderr > /dev/stderr",
      "exec 0<&-",
      "cat 2>/dev/null || echo closed"
    ].join("\n")
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("dev", shell([stage(["sh", "-c", script])], { initialStdin: Buffer.from("one\ntwo\n") }))
        yield* shells.closeStdin("dev")
        expect(doneCode(yield* sink.terminal("dev"))).toBe(0)
        expect(sink.output("dev").toString()).toBe("pipes\nfirst=one\ntwo\nto-stderr\nclosed\n")
      })
    )
  })

  it.live("cat with a large initial_stdin and an immediate CloseStdin: the output is the payload exactly", () => {
    const payload = randomBytes(3 * 1024 * 1024 + 17)
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("cat", shell([stage(["cat"])], { initialStdin: payload, timeoutSeconds: 30 }))
        yield* shells.closeStdin("cat")
        expect(doneCode(yield* sink.terminal("cat"))).toBe(0)
        expect(sink.output("cat").equals(payload)).toBe(true)
        expect(sink.of("cat").some((r) => payloadCase(r) === "error")).toBe(false)
      })
    )
  })

  it.live("CloseStdin is idempotent; a Stdin after it is INVALID_REQUEST", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("cat", shell([stage(["cat"])]))
        yield* shells.stdin("cat", Buffer.from("x"))
        yield* shells.closeStdin("cat")
        yield* shells.closeStdin("cat")
        expect(yield* Effect.flip(shells.stdin("cat", Buffer.from("late")))).toMatchObject({
          code: ErrorCode.ERROR_CODE_INVALID_REQUEST,
          message: "stdin: already closed"
        })
        expect(doneCode(yield* sink.terminal("cat"))).toBe(0)
        expect(sink.output("cat").toString()).toBe("x")
      })
    )
  })

  it.live("a stage ends without CloseStdin: reaping does not wait for it", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("head", shell([stage(["head", "-c", "2"])], { initialStdin: Buffer.from("abcdef") }))
        expect(doneCode(yield* sink.terminal("head"))).toBe(0)
        expect(sink.output("head").toString()).toBe("ab")
      })
    )
  })

  it.live("a child that closes its stdin early: the rest of the input is dropped silently", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run(
          "early",
          shell([stage(["sh", "-c", "exec 0<&-; echo closed; sleep 0.2"])], { initialStdin: randomBytes(1024 * 1024) })
        )
        yield* sink.waitFor((r) => r.commandId === "early" && payloadCase(r) === "output")
        for (let i = 0; i < 4; i++) yield* shells.stdin("early", randomBytes(256 * 1024))
        yield* shells.closeStdin("early")
        expect(doneCode(yield* sink.terminal("early"))).toBe(0)
        expect(sink.of("early").filter((r) => payloadCase(r) === "error")).toEqual([])
      })
    )
  })

  it.live("a stdin faster than the command reads is paced: every byte arrives, no Error", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        // The reader sleeps before it reads: 12 MiB sent at once is three times the pending limit.
        yield* shells.run("slow", shell([stage(["sh", "-c", "sleep 0.3; wc -c"])]))
        yield* sink.started("slow")
        for (let i = 0; i < 12; i++) yield* shells.stdin("slow", Buffer.alloc(1024 * 1024, i))
        yield* shells.closeStdin("slow")
        expect(doneCode(yield* sink.terminal("slow"))).toBe(0)
        expect(sink.output("slow").toString().trim()).toBe(String(12 * 1024 * 1024))
        expect(sink.of("slow").filter((r) => payloadCase(r) === "error")).toEqual([])
      })
    )
  })

  it.live("a command that never reads: Stdin waits for room (backpressure); the command's end lets it go", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("deaf", shell([stage(["sleep", "100"])], { timeoutSeconds: 1 }))
        yield* sink.started("deaf")
        for (let i = 0; i < 4; i++) yield* shells.stdin("deaf", Buffer.alloc(1024 * 1024, i))
        const waiting = yield* Effect.forkChild(shells.stdin("deaf", Buffer.alloc(1024 * 1024)))
        // The timeout ends the command; the frame waiting for room is dropped, not an Error of its own.
        expect(errorOf(yield* sink.terminal("deaf"))).toMatchObject({ code: ErrorCode.ERROR_CODE_TIMEOUT })
        yield* Fiber.join(waiting)
        expect(sink.of("deaf").filter((r) => payloadCase(r) === "error" || payloadCase(r) === "done")).toHaveLength(1)
      })
    )
  })

  it.live("Stdin and CloseStdin for an unknown id, Stdin for a finished one: UNKNOWN_COMMAND_ID", () => {
    return inSession(({ logs, shells, sink }) =>
      Effect.gen(function*() {
        expect(yield* Effect.flip(shells.stdin("ghost", Buffer.from("x")))).toMatchObject({
          code: ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID,
          message: "stdin: no running command with that id"
        })
        expect(yield* Effect.flip(shells.closeStdin("ghost"))).toMatchObject({
          code: ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID,
          message: "close_stdin: no running command with that id"
        })
        yield* shells.run("gone", shell([stage(["true"])]))
        yield* sink.terminal("gone")
        expect(yield* Effect.flip(shells.stdin("gone", Buffer.from("x")))).toMatchObject({
          code: ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID
        })
        // The CP closes stdin after every step, also after one that already answered: silent.
        yield* shells.closeStdin("gone")
        expect(logs.events("session_close_stdin_after_end")).toMatchObject([{ command_id: "gone" }])
      })
    )
  })
})
