import type { Effect } from "effect"
import { Context } from "effect"

/**
 * The pids whose status belongs to someone (shell stages and the user CMD, reaped by pid through
 * src/platform/children.ts). The Reaper must never wait for one of these: stealing its status would
 * lose the exit code, or the signal, its owner reports.
 */
export interface ProcessRegistryShape {
  /** Call synchronously right after spawn returns a pid. */
  readonly add: (pid: number) => void
  /** Call once the owner has reaped it. */
  readonly remove: (pid: number) => void
  readonly owns: (pid: number) => boolean
  readonly size: Effect.Effect<number>
}

export class ProcessRegistry
  extends Context.Service<ProcessRegistry, ProcessRegistryShape>()("clawkerd/ProcessRegistry")
{}
