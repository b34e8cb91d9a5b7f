import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ErrorCode } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import {
  doneCode,
  errorOf,
  eventually,
  inSession,
  installLeakCheck,
  processState,
  sh,
  shell,
  stage
} from "./shellHarness.js"

installLeakCheck()

/** Alive = exists and not a zombie. A killed grandchild is reparented away from us and reaped there. */
const alive = (pid: number) => {
  const state = processState(pid)
  return state !== undefined && state !== "Z"
}

/** The pid the script printed first (`echo $!`), once its output arrived. */
const printedPid = (output: () => Buffer) =>
  Effect.gen(function*() {
    yield* eventually(() => output().includes("\n"))
    return Number(output().toString().split("\n")[0])
  })

describe("ShellExecutor: a pipeline is one process group, and ending a command ends the group", () => {
  it.live("the stages join the first stage's group, though it exits at once (it is reaped only once all started)", () =>
    inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        const ids = Array.from({ length: 20 }, (_, i) => `p${i}`)
        for (const id of ids) {
          yield* shells.run(
            id,
            shell([
              stage(["true"]),
              stage(["sh", "-c", "echo $(cut -d' ' -f5 /proc/$$/stat) $$"]),
              stage(["sh", "-c", "cat; echo $(cut -d' ' -f5 /proc/$$/stat) $$"])
            ])
          )
        }
        for (const id of ids) {
          expect(doneCode(yield* sink.terminal(id))).toBe(0)
          const [second, third] = sink.output(id).toString().trim().split("\n").map((line) => line.split(" "))
          // One group, led by neither of them: the first stage's.
          expect(second?.[0]).toBe(third?.[0])
          expect([second?.[1], third?.[1]]).not.toContain(second?.[0])
        }
      })
    ))

  it.live("timeout 1 s on `sh -c 'sleep 6 &'`: TIMEOUT without waiting for the grandchild, which is killed", () =>
    inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        const started = Date.now()
        yield* shells.run("bg", sh("sleep 6 & echo $!", { timeoutSeconds: 1 }))
        const grandchild = yield* printedPid(() => sink.output("bg"))
        const end = yield* sink.terminal("bg")
        const tookMs = Date.now() - started
        expect(errorOf(end)).toEqual({
          code: ErrorCode.ERROR_CODE_TIMEOUT,
          message: "pipeline killed after 1s timeout"
        })
        // Without the group kill the reply waits for `sleep 6` (6 s): anything well below that is the fix.
        expect(tookMs).toBeLessThan(5_000)
        console.log(`sleep-6 in the background, timeout 1 s: TIMEOUT after ${tookMs} ms`)
        yield* eventually(() => !alive(grandchild))
        expect(alive(grandchild)).toBe(false)
      })
    ))

  it.live("a Signal to the command reaches what its stage started in the background", () =>
    inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("sig", sh("sleep 300 & echo $!; wait"))
        const grandchild = yield* printedPid(() => sink.output("sig"))
        yield* shells.signal("sig", 15)
        // The reply needs the merged output's EOF, so it comes only once the grandchild is gone too.
        const end = yield* sink.terminal("sig")
        expect(doneCode(end)).toBe(-1)
        yield* eventually(() => !alive(grandchild))
        expect(alive(grandchild)).toBe(false)
      })
    ))

  it.live("a Session teardown kills the background processes of its running commands", () => {
    let grandchild = 0
    return inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("td", sh("sleep 300 & echo $!; wait"))
        grandchild = yield* printedPid(() => sink.output("td"))
        expect(alive(grandchild)).toBe(true)
      })
    ).pipe(
      Effect.andThen(Effect.suspend(() => eventually(() => !alive(grandchild)))),
      Effect.map(() => expect(alive(grandchild)).toBe(false))
    )
  })

  it.live("a command that ends normally leaves its detached background processes alone", () =>
    inSession(({ shells, sink }) =>
      Effect.gen(function*() {
        yield* shells.run("daemon", sh("sleep 300 >/dev/null 2>&1 & echo $!"))
        const grandchild = yield* printedPid(() => sink.output("daemon"))
        expect(doneCode(yield* sink.terminal("daemon"))).toBe(0)
        expect(alive(grandchild)).toBe(true)
        process.kill(grandchild, "SIGKILL")
        yield* eventually(() => !alive(grandchild))
      })
    ))
})
