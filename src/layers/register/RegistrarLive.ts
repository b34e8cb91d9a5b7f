import { Effect, Fiber, Layer, Option, Ref, Result, Semaphore } from "effect"
import { errorMessage } from "../../lib/errorText.js"
import { formatHostPort } from "../../lib/hostPort.js"
import * as Log from "../../lib/log.js"
import { BootstrapStore } from "../../services/BootstrapStore.js"
import type { DaemonConfigShape } from "../../services/DaemonConfig.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { Hydra } from "../../services/Hydra.js"
import type { RegisterOutcome } from "../../services/Registrar.js"
import { Registrar } from "../../services/Registrar.js"
import { excerpt } from "./registerText.js"

const failed = (error: string): RegisterOutcome => ({ ok: false, error })

/** The reference's reply texts and events for the steps of the CP side. */
const STEP = {
  tls: { prefix: "dial TLS config", event: "register_dial_tls_failed" },
  dial: { prefix: "dial CP agent listener", event: "register_dial_failed" },
  rpc: { prefix: "AgentService.Register", event: "register_rpc_failed" }
} as const

/** A gRPC status code as grpc-go's error text names it: UNAVAILABLE → Unavailable, CANCELLED → Canceled. */
const goCodeName = (code: string): string =>
  code === "CANCELLED"
    ? "Canceled"
    : code.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, letter: string) => letter.toUpperCase())

/** What the CP shows for an unset variable (the reference's RegisterDone text), the first step's first. */
const unsetVariable = (config: DaemonConfigShape) =>
  Option.isNone(config.hydraUrl)
    ? { variable: "CLAWKER_CP_HYDRA_URL", text: "CLAWKER_CP_HYDRA_URL unset; cannot exchange assertion" }
    : Option.isNone(config.cpAgentAddr)
    ? { variable: "CLAWKER_CP_AGENT_ADDR", text: "CLAWKER_CP_AGENT_ADDR unset; cannot dial AgentService" }
    : undefined

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
      const unset = unsetVariable(config)
      if (unset !== undefined) {
        yield* Log.error("register_env_missing", { variable: unset.variable, error: unset.text })
        return failed(unset.text)
      }
      const addr = Option.getOrThrow(config.cpAgentAddr)

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
        const { code, connected, detail, stage } = rpc.failure
        const text = stage === "rpc"
          ? `${STEP.rpc.prefix}: rpc error: code = ${goCodeName(code)} desc = ${detail}`
          : `${STEP[stage].prefix}: ${detail}`
        yield* Log.error(STEP[stage].event, { code, connected, detail, error: text })
        return failed(text)
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
