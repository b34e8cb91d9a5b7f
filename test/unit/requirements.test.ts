import { Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { ErrorCode, ShellCommand } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { ListenerLive } from "../../src/layers/listener/ListenerLive.js"
import { SessionHandlerLive } from "../../src/layers/session/SessionHandlerLive.js"
import { ShellExecutorLive } from "../../src/layers/shell/ShellExecutorLive.js"
import { AgentState } from "../../src/services/AgentState.js"
import type { BootstrapStore } from "../../src/services/BootstrapStore.js"
import type { DaemonConfig } from "../../src/services/DaemonConfig.js"
import { ExitRequest } from "../../src/services/ExitRequest.js"
import type { FrameRoom } from "../../src/services/FrameRoom.js"
import type { Listener, ListenerStartError } from "../../src/services/Listener.js"
import { MemoryReclaim } from "../../src/services/MemoryReclaim.js"
import type { ProcessRegistry } from "../../src/services/ProcessRegistry.js"
import { ProgressReporter } from "../../src/services/ProgressReporter.js"
import { Registrar } from "../../src/services/Registrar.js"
import type { SessionHandler } from "../../src/services/SessionHandler.js"
import { ShellExecutor } from "../../src/services/ShellExecutor.js"
import { Supervisor } from "../../src/services/Supervisor.js"

/*
 * A layer's type names every service it uses: a composition that forgets one does not compile (the
 * `@ts-expect-error` lines below are checked by `npm run typecheck`; were a requirement read at run time
 * instead, the expected error would be missing and tsc would fail). A daemon without a capability says so
 * with its disabled layer, which answers as the spec says.
 */

const Disabled = Layer.mergeAll(
  AgentState.disabled,
  ExitRequest.disabled,
  MemoryReclaim.disabled,
  ProgressReporter.disabled,
  ShellExecutor.disabled,
  Supervisor.disabled
)

describe("honest requirements", () => {
  it("a SessionHandler composes from disabled layers, and not without the Registrar", async () => {
    const whole: Layer.Layer<SessionHandler> = SessionHandlerLive.pipe(
      Layer.provide(Layer.merge(Disabled, Registrar.disabled))
    )
    // @ts-expect-error the Registrar is missing: RegisterRequired would have nobody to answer it
    const forgot: Layer.Layer<SessionHandler> = SessionHandlerLive.pipe(Layer.provide(Disabled))
    expect(forgot).toBeDefined()
    expect(Exit.isSuccess(await Effect.runPromiseExit(Effect.scoped(Layer.build(whole))))).toBe(true)
  })

  it("the shell executor names the ProgressReporter its print_output echoes to", () => {
    // @ts-expect-error no ProgressReporter: provide ProgressReporter.disabled to echo nowhere
    const forgot: Layer.Layer<ShellExecutor, never, ProcessRegistry | FrameRoom> = ShellExecutorLive
    expect(forgot).toBeDefined()
  })

  it("the shell's output reader and the listener's framing both name the FrameRoom they share", () => {
    // @ts-expect-error no FrameRoom: its reads would have no room for their Response headers
    const shell: Layer.Layer<ShellExecutor, never, ProcessRegistry | ProgressReporter> = ShellExecutorLive
    // @ts-expect-error no FrameRoom: it would frame nothing in place and give nothing back
    const listener: Layer.Layer<Listener, ListenerStartError, DaemonConfig | BootstrapStore | SessionHandler> =
      ListenerLive
    expect([shell, listener]).toHaveLength(2)
  })

  it("the disabled layers answer with the spec's errors", async () => {
    const answers = Effect.gen(function*() {
      const register = yield* (yield* Registrar).register
      const spawn = yield* Effect.flip((yield* Supervisor).spawn(""))
      const shell = yield* (yield* ShellExecutor).session({ send: () => Effect.void, exitOnNonZero: () => Effect.void })
      const run = yield* Effect.flip(shell.run("s1", ShellCommand.fromPartial({})))
      const signal = yield* Effect.flip(shell.signal("s1", 15))
      return { register, spawn: spawn.message, run: run.code, runText: run.message, signal: signal.message }
    })
    const result = await Effect.runPromise(
      answers.pipe(Effect.scoped, Effect.provide(Layer.merge(Disabled, Registrar.disabled)))
    )
    expect(result).toEqual({
      register: { ok: false, error: "clawkerd has no register coordinator wired" },
      spawn: "spawn entry not wired",
      run: ErrorCode.ERROR_CODE_IO_ERROR,
      runText: "shell: clawkerd has no shell executor wired",
      signal: "signal: clawkerd has no shell executor wired"
    })
  })
})
