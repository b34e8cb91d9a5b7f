import { Effect, Fiber, Layer, Option, Ref, Result, Semaphore } from "effect"
import { errorMessage } from "../../lib/errorText.js"
import { formatHostPort } from "../../lib/hostPort.js"
import * as Log from "../../lib/log.js"
import { BootstrapStore } from "../../services/BootstrapStore.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { Hydra } from "../../services/Hydra.js"
import type { RegisterOutcome } from "../../services/Registrar.js"
import { Registrar } from "../../services/Registrar.js"
import { excerpt } from "./registerText.js"

const failed = (error: string): RegisterOutcome => ({ ok: false, error })

const STEP_PREFIX = { dial: "dial CP agent listener", rpc: "AgentService.Register" } as const

/**
 * AgentService's gRPC client, loaded by the first attempt that got a token, not at boot: a daemon that
 * is never asked to Register never evaluates it (bench/boot.ts, bench/memory.ts).
 */
const loadCpRegister = Effect.promise(() => import("./cpRegister.js"))

/**
 * The Register coordinator. The assertion can be spent once, so: one attempt at a time, and once an
 * attempt reached Hydra (whatever came after), its outcome is the answer forever. An attempt that
 * never reached Hydra leaves the assertion unspent and the next request tries again.
 *
 * Each attempt runs in the layer's scope, not the caller's: a Session that goes away mid-attempt
 * stops waiting, but the attempt still finishes and its outcome is kept, so the assertion is never
 * spent without the outcome being recorded.
 */
export const makeRegistrar = Effect.gen(function*() {
  const hydra = yield* Hydra
  const material = yield* BootstrapStore
  const config = yield* DaemonConfig
  const scope = yield* Effect.scope
  const lock = yield* Semaphore.make(1)
  const settled = yield* Ref.make(Option.none<RegisterOutcome>())

  const attempt = (consumed: Ref.Ref<boolean>): Effect.Effect<RegisterOutcome> =>
    Effect.gen(function*() {
      if (Option.isNone(config.hydraUrl) || Option.isNone(config.cpAgentAddr)) {
        const missing = [
          ...(Option.isNone(config.hydraUrl) ? ["CLAWKER_CP_HYDRA_URL"] : []),
          ...(Option.isNone(config.cpAgentAddr) ? ["CLAWKER_CP_AGENT_ADDR"] : [])
        ]
        return failed(`cannot register: ${missing.map((v) => `${v} is not set`).join("; ")}`)
      }
      const addr = config.cpAgentAddr.value

      const token = yield* hydra.exchange(material.assertion).pipe(
        Effect.tapError((e) => Ref.set(consumed, e.consumed)),
        Effect.tap(() => Ref.set(consumed, true)),
        Effect.result
      )
      if (Result.isFailure(token)) return failed(`hydra token exchange: ${token.failure.message}`)

      yield* Log.info("register_dial", { addr: formatHostPort(addr) })
      const request = { agentName: config.agent, project: config.project }
      const { registerWithCp } = yield* loadCpRegister
      const rpc = yield* Effect.result(registerWithCp(material, addr, request, token.success))
      if (Result.isFailure(rpc)) {
        const { code, detail, stage } = rpc.failure
        yield* Log.warn("register_rpc_failed", { code, stage, detail })
        return failed(`${STEP_PREFIX[stage]}: ${code}: ${detail}`)
      }
      yield* Log.info("register_rpc_ok")
      return { ok: true, error: "" }
    })

  const panicked = (defect: unknown) => {
    const text = excerpt(errorMessage(defect))
    return Log.error("register_panic", { panic: text, stack: defect instanceof Error ? defect.stack : undefined }).pipe(
      Effect.as(failed(`register panic: ${text}`))
    )
  }

  const serialised = lock.withPermits(1)(Effect.gen(function*() {
    const done = yield* Ref.get(settled)
    if (Option.isSome(done)) {
      yield* Log.info("register_replay_short_circuit", { ok: done.value.ok })
      return done.value
    }
    const consumed = yield* Ref.make(false)
    const outcome = yield* attempt(consumed).pipe(Effect.catchDefect(panicked))
    if (yield* Ref.get(consumed)) yield* Ref.set(settled, Option.some(outcome))
    else yield* Log.warn("register_assertion_unconsumed", { error: outcome.error })
    return outcome
  }))

  return { register: Effect.flatMap(Effect.forkIn(serialised, scope), Fiber.join) }
})

export const RegistrarLive: Layer.Layer<Registrar, never, Hydra | BootstrapStore | DaemonConfig> = Layer.effect(
  Registrar,
  makeRegistrar
)
