import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { activeLabel, doneLabel, initStepOf } from "../../src/layers/lifecycle/initSteps.js"
import { makeProgressReporter } from "../../src/layers/lifecycle/ProgressReporterLive.js"

const fakeConsole = (isTTY: boolean) => {
  const chunks: Array<string> = []
  return { out: { isTTY, write: (c: string | Uint8Array) => void chunks.push(Buffer.from(c).toString()) }, chunks }
}

describe("init step ids", () => {
  it("parse as the spec says", () => {
    expect(initStepOf("init-abcdef012345-post-init-5")).toBe("post-init")
    expect(initStepOf("init-abcdef012345-git-credentials-1")).toBe("git-credentials")
    expect(initStepOf("init-abcdef012345-x-")).toBe("x")
    expect(initStepOf("init-abcdef01234")).toBeUndefined()
    expect(initStepOf("init-abcdef012345-nodash")).toBeUndefined()
    expect(initStepOf("init-abcdef012345--1")).toBeUndefined()
    expect(initStepOf("step-abcdef012345-git-1")).toBeUndefined()
  })
  it("labels", () => {
    expect([activeLabel("ssh"), doneLabel("ssh")]).toEqual([
      "Configuring SSH known_hosts...",
      "SSH known_hosts configured"
    ])
    expect([activeLabel("custom"), doneLabel("custom")]).toEqual(["custom...", "custom"])
  })
})

describe("progress reporter, plain lines when not a TTY", () => {
  it.effect("banner, steps, echo, final, then silence", () =>
    Effect.gen(function*() {
      const { chunks, out } = fakeConsole(false)
      const p = makeProgressReporter(out)
      yield* p.banner
      yield* p.startStep("init-abcdef012345-post-init-5")
      yield* p.echo(Buffer.from("hook-output\n"))
      yield* p.echo(Buffer.alloc(0))
      yield* p.endStep("init-abcdef012345-post-init-5", false)
      yield* p.startStep("not-an-init-step")
      yield* p.startStep("init-abcdef012345-git-2")
      yield* p.endStep("init-abcdef012345-git-2", true)
      yield* p.final
      yield* p.banner
      yield* p.echo(Buffer.from("late"))
      expect(chunks.join("")).toBe(
        [
          "[info] Starting Clawker agent...",
          "  Running post-init...",
          "hook-output",
          "  ✗ Running post-init... (failed)",
          "  Configuring git...",
          "  ✓ Git configured",
          "[info] Running agent command...",
          ""
        ].join("\n")
      )
    }))

  it.effect("Done{0} renders ✓ and not (failed); mute is silent and permanent", () =>
    Effect.gen(function*() {
      const { chunks, out } = fakeConsole(false)
      const p = makeProgressReporter(out)
      yield* p.endStep("init-abcdef012345-post-init-5", true)
      expect(chunks.join("")).toBe("  ✓ Post-init complete\n")
      yield* p.mute
      yield* p.endStep("init-abcdef012345-post-init-5", true)
      yield* p.final
      expect(chunks).toHaveLength(1)
    }))

  it.effect("a step's completion line is written once: no ✗ after its ✓; a restarted id completes again", () =>
    Effect.gen(function*() {
      const { chunks, out } = fakeConsole(false)
      const p = makeProgressReporter(out)
      const id = "init-abcdef012345-config-1"
      yield* p.startStep(id)
      yield* p.endStep(id, true)
      yield* p.endStep(id, false)
      yield* p.startStep(id)
      yield* p.endStep(id, false)
      expect(chunks.join("")).toBe(
        [
          "  Seeding agent config...",
          "  ✓ Agent config seeded",
          "  Seeding agent config...",
          "  ✗ Seeding agent config... (failed)",
          ""
        ].join("\n")
      )
    }))
})

describe("progress reporter on a TTY", () => {
  it.live("colours the icons and spins the active step in place, replaced by its result", () =>
    Effect.gen(function*() {
      const { chunks, out } = fakeConsole(true)
      const p = makeProgressReporter(out)
      yield* p.banner
      yield* p.startStep("init-abcdef012345-ssh-1")
      // The spinner redraws on its own timer: wait for the second frame rather than a fixed time.
      while (!chunks.join("").includes("\r\x1b[2K  \x1b[36m⠙")) yield* Effect.sleep("10 millis")
      yield* p.endStep("init-abcdef012345-ssh-1", true)
      const text = chunks.join("")
      expect(text.startsWith("\x1b[36mℹ\x1b[0m Starting Clawker agent...\n")).toBe(true)
      expect(text).toContain("Configuring SSH known_hosts...")
      expect(text.endsWith("\r\x1b[2K  \x1b[32m✓\x1b[0m SSH known_hosts configured\n")).toBe(true)
      const after = chunks.length
      yield* Effect.sleep("200 millis")
      expect(chunks.length).toBe(after)
    }))
})
