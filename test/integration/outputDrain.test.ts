import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber } from "effect"
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { openOutput, OUTPUT_READ_SIZE, READ_AHEAD } from "../../src/layers/shell/outputDrain.js"
import { addon } from "../../src/platform/native.js"
import { makeFrameRoom } from "../../src/wire/frameRoom.js"

const WRITTEN = 8 * 1024 * 1024

/**
 * WRITTEN random bytes drained through openOutput, every chunk given back once handled (as the Session's
 * writer does): whether they arrived intact, and the distinct memory the full chunks lived in.
 */
const drainGivingBack = (handsOn: boolean) =>
  Effect.gen(function*() {
    const payload = randomBytes(WRITTEN)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drain-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    fs.writeFileSync(path.join(dir, "payload"), payload)
    const [readFd, writeFd] = addon.pipe()
    const writer = spawn("cat", [path.join(dir, "payload")], { stdio: ["ignore", writeFd, "ignore"] })
    fs.closeSync(writeFd)
    const writerDone = new Promise<void>((resolve) => writer.once("close", () => resolve()))
    const room = makeFrameRoom()
    const reader = yield* openOutput(room, readFd, () => undefined, { handsOn, readSize: OUTPUT_READ_SIZE })
    const seen = createHash("sha256")
    const memory = new Set<ArrayBufferLike>()
    let fullChunks = 0
    yield* reader.drain((chunk) =>
      Effect.sync(() => {
        seen.update(chunk)
        if (chunk.length >= OUTPUT_READ_SIZE / 2) {
          fullChunks++
          memory.add(chunk.buffer)
        }
        room.giveBack(chunk)
      })
    )
    yield* Effect.promise(() => writerDone)
    return {
      intact: seen.digest("hex") === createHash("sha256").update(payload).digest("hex"),
      memory: memory.size,
      fullChunks
    }
  }).pipe(Effect.scoped)

describe("output drain", () => {
  it.live(
    "reads at most READ_AHEAD chunks ahead of a stalled consumer, so the writer waits, then delivers every byte",
    () =>
      Effect.gen(function*() {
        const [readFd, writeFd] = addon.pipe()
        const writer = spawn("head", ["-c", String(WRITTEN), "/dev/zero"], { stdio: ["ignore", writeFd, "ignore"] })
        fs.closeSync(writeFd)
        const writerDone = new Promise<void>((resolve) => writer.once("close", () => resolve()))
        let writerFinished = false
        void writerDone.then(() => (writerFinished = true))

        const reader = yield* openOutput(makeFrameRoom(), readFd, () => undefined)
        const gate = yield* Deferred.make<void>()
        let handed = 0
        let bytes = 0
        const drain = yield* Effect.forkChild(reader.drain((chunk) =>
          Effect.gen(function*() {
            handed++
            bytes += chunk.length
            expect(chunk.length).toBeLessThanOrEqual(OUTPUT_READ_SIZE)
            yield* Deferred.await(gate)
          })
        ))

        yield* Effect.sleep(Duration.millis(500))
        // The first chunk is stuck in the consumer; the pipe (64 KiB) and READ_AHEAD reads hold the rest.
        expect(handed).toBe(1)
        expect(writerFinished).toBe(false)

        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(drain)
        expect(bytes).toBe(WRITTEN)
        expect(handed).toBeGreaterThan(READ_AHEAD)
        yield* Effect.promise(() => writerDone)
      }).pipe(Effect.scoped),
    20_000
  )

  it.live(
    "chunks given back once handled are read into again: megabytes of output through a few buffers, intact",
    () =>
      Effect.gen(function*() {
        const { fullChunks, intact, memory } = yield* drainGivingBack(true)
        expect(intact).toBe(true)
        expect(fullChunks).toBeGreaterThan(64)
        expect(memory).toBeLessThanOrEqual(READ_AHEAD + 2)
      }),
    20_000
  )

  it.live(
    "a reader whose chunks someone else may hold (print_output's echo) never reads into them again",
    () =>
      Effect.gen(function*() {
        const { fullChunks, intact, memory } = yield* drainGivingBack(false)
        expect(intact).toBe(true)
        expect(memory).toBe(fullChunks)
      }),
    20_000
  )
})
