import { Effect, Layer, Ref } from "effect"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Log from "../domain/log.js"
import { AgentState } from "../services/AgentState.js"
import { DaemonConfig } from "../services/DaemonConfig.js"

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** AgentState over a marker file path; a sibling daemon can pass its own. */
export const makeAgentState = (marker: string) =>
  Effect.gen(function*() {
    const cmdRunning = yield* Ref.make(false)
    // A stat of one local file, answered inline: the promise version cost every Hello a thread-pool
    // round trip and, until init ran, a thrown ENOENT (bench/latency.ts). Any stat failure is "no".
    const initialized = Effect.try(() => fsSync.statSync(marker, { throwIfNoEntry: false }) !== undefined).pipe(
      Effect.orElseSucceed(() => false)
    )
    const markInitialized = Effect.gen(function*() {
      const dir = path.dirname(marker)
      // A failed marker costs a re-run of init after a restart, never the Session: log and go on.
      yield* Effect.tryPromise(() => fs.mkdir(dir, { recursive: true, mode: 0o700 })).pipe(
        Effect.catch((e) => Log.warn("agent_initialized_marker_mkdir_failed", { path: dir, error: reason(e.cause) }))
      )
      yield* Effect.tryPromise(() => fs.writeFile(marker, "", { mode: 0o600 })).pipe(
        Effect.catch((e) => Log.warn("agent_initialized_marker_write_failed", { path: marker, error: reason(e.cause) }))
      )
    })
    return AgentState.of({
      initialized,
      cmdRunning: Ref.get(cmdRunning),
      markInitialized,
      markCmdRunning: Ref.set(cmdRunning, true)
    })
  })

export const AgentStateLive: Layer.Layer<AgentState, never, DaemonConfig> = Layer.effect(
  AgentState,
  Effect.flatMap(DaemonConfig, (config) => makeAgentState(config.initMarker))
)
