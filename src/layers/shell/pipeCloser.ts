import { Effect } from "effect"
import * as fs from "node:fs"
import { errnoText } from "../../lib/errorText.js"
import * as Log from "../../lib/log.js"
import { isClosedPipe } from "./errors.js"

/**
 * Closes a command's raw pipe fds. A failing close is worth one Warn per command, not one per fd:
 * the first is logged, the rest are counted and reported once by `report`.
 */
export interface PipeCloser {
  readonly close: (fd: number, pipe: string) => Effect.Effect<void>
  readonly report: Effect.Effect<void>
}

export const makePipeCloser = (
  commandId: string,
  closeFd: (fd: number) => void = fs.closeSync
): PipeCloser => {
  let failures = 0
  return {
    close: (fd, pipe) =>
      Effect.suspend(() => {
        try {
          closeFd(fd)
          return Effect.void
        } catch (e) {
          if (isClosedPipe(e)) return Effect.void
          failures += 1
          return failures === 1
            ? Log.warn("session_pipe_close_failed", { command_id: commandId, pipe, error: errnoText(e) })
            : Effect.void
        }
      }),
    report: Effect.suspend(() =>
      failures > 1
        ? Log.warn("session_pipe_close_failed_suppressed", { command_id: commandId, suppressed: failures - 1 })
        : Effect.void
    )
  }
}
