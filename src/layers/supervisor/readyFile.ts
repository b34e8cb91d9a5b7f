import { Effect } from "effect"
import * as Log from "../../domain/log.js"
import { removeRootFile, touchRootFile } from "../rootFiles.js"

/**
 * Touched once the user CMD runs (the image's HEALTHCHECK tests it); mode 0644 as the spec has it. A
 * failure is logged and tolerated.
 */
export const touchReadyFile = (file: string) =>
  touchRootFile(file, 0o644).pipe(
    Effect.catchAll((e) => Log.warn("ready_file_touch_failed", { path: file, error: e.problem }))
  )

/**
 * At boot: a ready file left by this container's previous run (`docker restart` keeps /run) would
 * report it healthy before its user CMD runs again.
 */
export const removeStaleReadyFile = (file: string) =>
  removeRootFile(file).pipe(
    Effect.flatMap((removed) => removed ? Log.info("ready_file_stale_removed", { path: file }) : Effect.void),
    Effect.catchAll((e) => Log.warn("ready_file_remove_failed", { path: file, error: e.problem }))
  )
