import { Effect, Layer, Ref } from "effect"
import * as Log from "../../lib/log.js"
import { isRootFile, writeRootFile } from "../../platform/rootFiles.js"
import { AgentState } from "../../services/AgentState.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"

/** AgentState over a marker file path; a sibling daemon can pass its own. */
export const makeAgentState = (marker: string) =>
  Effect.gen(function*() {
    const cmdRunning = yield* Ref.make(false)
    // A few stats of local files, answered inline: the promise version cost every Hello a thread-pool
    // round trip and, until init ran, a thrown ENOENT (bench/latency.ts). Any failure is "no". Only
    // what clawkerd wrote counts: root's regular file, reached through no link the user could make.
    const initialized = Effect.sync(() => isRootFile(marker))
    // A failed marker costs a re-run of init after a restart, never the Session: log and go on.
    const markInitialized = writeRootFile(marker, 0o600, "").pipe(
      Effect.catch((e) =>
        Log.warn(
          e.step === "directory" ? "agent_initialized_marker_mkdir_failed" : "agent_initialized_marker_write_failed",
          { path: marker, error: e.problem }
        )
      )
    )
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
