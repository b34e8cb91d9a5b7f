import { Effect } from "effect"
import * as fs from "node:fs"
import * as Log from "../../lib/log.js"
import { removeRootFile, writeRootFile } from "../../platform/rootFiles.js"

/**
 * This process's start time (clock ticks after boot, field 22 of /proc/self/stat): what the image's
 * HEALTHCHECK compares with PID 1's, so a ready file from a previous run of the container never counts.
 */
const startTime = (): string => fs.readFileSync("/proc/self/stat", "utf8").replace(/^.*\) /s, "").split(" ")[19] ?? ""

/**
 * Written once the user CMD runs (the image's HEALTHCHECK tests it), mode 0644 as the spec has it,
 * holding clawkerd's start time. A failure is logged and tolerated.
 */
export const touchReadyFile = (file: string) =>
  Effect.suspend(() => writeRootFile(file, 0o644, startTime())).pipe(
    Effect.catch((e) => Log.error("spawn_ready_file_touch_failed", { path: file, error: e.problem }))
  )

/**
 * At boot: a ready file left by this container's previous run (`docker restart` keeps /run) would
 * report it healthy before its user CMD runs again.
 */
export const removeStaleReadyFile = (file: string) =>
  removeRootFile(file).pipe(
    Effect.flatMap((removed) => removed ? Log.info("ready_file_stale_removed", { path: file }) : Effect.void),
    Effect.catch((e) => Log.warn("ready_file_remove_failed", { path: file, error: e.problem }))
  )
