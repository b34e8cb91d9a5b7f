import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { OUTPUT_READ_SIZE } from "../../src/layers/shell/outputDrain.js"
import { isTerminal } from "../../src/wire/responses.js"
import {
  doneCode,
  inSession,
  installLeakCheck,
  payloadCase,
  scopedTempDir,
  shell,
  stage,
  stageExits
} from "./shellHarness.js"

installLeakCheck()

const MiB = 1024 * 1024

describe("ShellExecutor under load", () => {
  it.live("200 concurrent commands on one Session each end exactly once, with their own output", () => {
    const ids = Array.from({ length: 200 }, (_, i) => `c${i}`)
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        for (const id of ids) yield* shells.run(id, shell([stage(["echo", id])]))
        yield* Effect.forEach(ids, (id) => sink.terminal(id), { concurrency: "unbounded", discard: true })
        for (const id of ids) {
          const replies = sink.of(id)
          expect(replies.filter(isTerminal).map(doneCode)).toEqual([0])
          expect(replies.filter((r) => payloadCase(r) === "started")).toHaveLength(1)
          expect(stageExits(replies)).toEqual([{ stageIndex: 0, exitCode: 0, signo: 0 }])
          expect(sink.output(id).toString()).toBe(`${id}\n`)
        }
        expect(yield* shells.runningCount).toBe(0)
      })
    )
  }, 60_000)

  it.live(
    "64 MiB of output arrives intact, in chunks of at most 32 KiB",
    () =>
      inSession(({ shells, sink }) =>
        Effect.gen(function*() {
          const dir = yield* scopedTempDir
          const file = path.join(dir, "payload")
          const payload = randomBytes(64 * MiB)
          fs.writeFileSync(file, payload)
          const start = performance.now()
          yield* shells.run("big", shell([stage(["cat", file])]))
          expect(doneCode(yield* sink.terminal("big"))).toBe(0)
          const seconds = (performance.now() - start) / 1000
          const chunks = sink.of("big").flatMap((r) => (r.payload?.$case === "output" ? [r.payload.value.data] : []))
          const hash = createHash("sha256")
          for (const chunk of chunks) hash.update(chunk)
          expect(hash.digest("hex")).toBe(createHash("sha256").update(payload).digest("hex"))
          expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(OUTPUT_READ_SIZE)
          console.log(`64 MiB through the merged output: ${(64 / seconds).toFixed(0)} MiB/s, ${chunks.length} chunks`)
        })
      ),
    60_000
  )

  it.live("fast exits: true x20 never yields an Error; echo hello x50 always delivers exactly hello", () => {
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        for (let i = 0; i < 20; i++) {
          yield* shells.run(`t${i}`, shell([stage(["true"])]))
          expect(doneCode(yield* sink.terminal(`t${i}`))).toBe(0)
        }
        for (let i = 0; i < 50; i++) {
          yield* shells.run(`e${i}`, shell([stage(["echo", "hello"])]))
          expect(doneCode(yield* sink.terminal(`e${i}`))).toBe(0)
          expect(sink.output(`e${i}`).toString()).toBe("hello\n")
        }
        expect(sink.responses.filter((r) => payloadCase(r) === "error")).toEqual([])
      })
    )
  }, 60_000)

  it.live("8 concurrent two-stage pipelines (echo hello | cat) all finish cleanly", () => {
    const ids = Array.from({ length: 8 }, (_, i) => `p${i}`)
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        for (const id of ids) yield* shells.run(id, shell([stage(["echo", "hello"]), stage(["cat"])]))
        for (const id of ids) {
          expect(doneCode(yield* sink.terminal(id))).toBe(0)
          expect(sink.output(id).toString()).toBe("hello\n")
          expect(stageExits(sink.of(id))).toHaveLength(2)
        }
      })
    )
  })
})
