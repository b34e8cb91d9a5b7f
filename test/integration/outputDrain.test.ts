import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { openOutput, OUTPUT_READ_SIZE, READ_AHEAD } from "../../src/layers/shell/outputDrain.js"
import { addon } from "../../src/platform/native.js"

const WRITTEN = 8 * 1024 * 1024

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

        const reader = yield* openOutput(readFd, () => undefined)
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
})
