import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import type { StdinWriter } from "../../src/layers/shell/stdinFeeder.js"
import { makeStdinFeeder, STDIN_PENDING_LIMIT } from "../../src/layers/shell/stdinFeeder.js"
import { captureLogs } from "../support/logs.js"

const errno = (code: string) => Object.assign(new Error(`write failed: ${code}`), { code })

/** A child's stdin that records what it got; a write completes when the test says so, or at once. */
const fakeWriter = (options: { hold?: boolean; failWith?: (chunk: string) => Error | undefined } = {}) => {
  const written: Array<string> = []
  const held: Array<() => void> = []
  let ended = false
  let endError: Error | undefined = undefined
  const writer: StdinWriter = {
    write: (chunk, done) => {
      const text = Buffer.from(chunk).toString()
      const error = options.failWith?.(text)
      if (error) return done(error)
      written.push(text)
      if (options.hold) held.push(() => done(null))
      else done(null)
    },
    end: (done) => {
      ended = true
      done(endError ?? null)
    }
  }
  return {
    writer,
    written,
    ended: () => ended,
    failEnd: (e: Error) => void (endError = e),
    release: () => held.splice(0).forEach((f) => f())
  }
}

const feederFor = () => makeStdinFeeder("cmd")

describe("stdin feeder", () => {
  it.effect("order: initial_stdin, then frames, then the close, even for frames queued before feeding starts", () =>
    Effect.gen(function*() {
      const feeder = yield* feederFor()
      const fake = fakeWriter()
      yield* feeder.offer(Buffer.from("b"))
      yield* feeder.offer(Buffer.from("c"))
      yield* feeder.close
      yield* feeder.feed(fake.writer, Buffer.from("a"))
      expect(fake.written).toEqual(["a", "b", "c"])
      expect(fake.ended()).toBe(true)
    }))

  it.effect("one write at a time: the next frame waits until the child took the previous one", () =>
    Effect.gen(function*() {
      const feeder = yield* feederFor()
      const fake = fakeWriter({ hold: true })
      const feeding = yield* Effect.forkChild(feeder.feed(fake.writer, Buffer.from("init")))
      yield* feeder.offer(Buffer.from("one"))
      yield* feeder.offer(Buffer.from("two"))
      yield* Effect.yieldNow
      expect(fake.written).toEqual(["init"])
      fake.release()
      yield* Effect.yieldNow
      expect(fake.written).toEqual(["init", "one"])
      yield* feeder.close
      while (!fake.ended()) {
        fake.release()
        yield* Effect.yieldNow
      }
      yield* Fiber.join(feeding)
      expect(fake.written).toEqual(["init", "one", "two"])
    }))

  it.effect("a Stdin after CloseStdin is INVALID_REQUEST 'stdin: already closed'; CloseStdin twice is fine", () =>
    Effect.gen(function*() {
      const feeder = yield* feederFor()
      yield* feeder.close
      yield* feeder.close
      expect(yield* Effect.flip(feeder.offer(Buffer.from("x")))).toMatchObject({
        code: ErrorCode.ERROR_CODE_INVALID_REQUEST,
        message: "stdin: already closed"
      })
    }))

  it.effect("past the pending limit a frame waits until the child read enough, then goes in order; nothing fails", () =>
    Effect.gen(function*() {
      const feeder = yield* feederFor()
      const fake = fakeWriter({ hold: true })
      const feeding = yield* Effect.forkChild(feeder.feed(fake.writer, Buffer.alloc(0)))
      yield* feeder.offer(Buffer.alloc(STDIN_PENDING_LIMIT - 1, "a"))
      yield* feeder.offer(Buffer.from("b"))
      const third = yield* Effect.forkChild(feeder.offer(Buffer.from("c")))
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      expect(third.pollUnsafe()).toBeUndefined()
      fake.release()
      yield* Fiber.join(third)
      for (let i = 0; i < 10; i++) {
        yield* Effect.yieldNow
        fake.release()
      }
      yield* feeder.close
      yield* Fiber.join(feeding)
      expect(fake.written.map((w) => w.length)).toEqual([STDIN_PENDING_LIMIT - 1, 1, 1])
      expect(fake.written.slice(1)).toEqual(["b", "c"])
    }))

  it.effect("a frame waiting for room is let go when the command ends", () =>
    Effect.gen(function*() {
      const feeder = yield* feederFor()
      yield* feeder.offer(Buffer.alloc(STDIN_PENDING_LIMIT))
      const waiting = yield* Effect.forkChild(feeder.offer(Buffer.from("late")))
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* feeder.end
      yield* Fiber.join(waiting)
    }))

  it.effect("the child closed its end (EPIPE): no failure, and later frames are dropped silently", () =>
    Effect.gen(function*() {
      const feeder = yield* feederFor()
      const fake = fakeWriter({ failWith: (chunk) => (chunk === "b" ? errno("EPIPE") : undefined) })
      yield* feeder.offer(Buffer.from("b"))
      yield* feeder.offer(Buffer.from("c"))
      yield* feeder.close
      yield* feeder.feed(fake.writer, Buffer.from("a"))
      expect(fake.written).toEqual(["a"])
      expect(fake.ended()).toBe(false)
    }))

  it.effect("any other write error fails the feeder (stdin write: ...) and closes stdin", () =>
    Effect.gen(function*() {
      const feeder = yield* feederFor()
      const fake = fakeWriter({ failWith: (chunk) => (chunk === "b" ? errno("EIO") : undefined) })
      yield* feeder.offer(Buffer.from("b"))
      const failure = yield* Effect.flip(feeder.feed(fake.writer, Buffer.alloc(0)))
      expect(failure.message).toBe("stdin write: write failed: EIO")
      expect(yield* Effect.flip(feeder.offer(Buffer.from("x")))).toMatchObject({ message: "stdin: already closed" })
    }))

  it.effect("an initial_stdin write error says so", () =>
    Effect.gen(function*() {
      const feeder = yield* feederFor()
      const fake = fakeWriter({ failWith: () => errno("EIO") })
      const failure = yield* Effect.flip(feeder.feed(fake.writer, Buffer.from("payload")))
      expect(failure.message).toBe("initial_stdin write failed: write failed: EIO")
    }))

  it.effect("a failing close is logged (session_close_stdin_failed) and not a failure", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const feeder = yield* feederFor()
      const fake = fakeWriter()
      fake.failEnd(errno("EIO"))
      yield* feeder.close
      yield* feeder.feed(fake.writer, Buffer.alloc(0))
      expect(logs.events("session_close_stdin_failed")).toMatchObject([{ level: "warn", command_id: "cmd" }])
    }).pipe(Effect.provide(logs.layer))
  })
})
