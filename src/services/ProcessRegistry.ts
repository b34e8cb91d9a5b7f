import type { Effect } from "effect"
import { Context } from "effect"

/**
 * The pids libuv spawned and will reap itself (shell stages, the user CMD). The Reaper must never
 * wait for one of these: stealing its status means Node's `exit` event never fires.
 */
export interface ProcessRegistryShape {
  /** Call synchronously right after spawn returns a pid. */
  readonly add: (pid: number) => void
  /** Call from the child's `exit` event, once libuv has reaped it. */
  readonly remove: (pid: number) => void
  readonly owns: (pid: number) => boolean
  readonly size: Effect.Effect<number>
}

export class ProcessRegistry
  extends Context.Service<ProcessRegistry, ProcessRegistryShape>()("clawkerd/ProcessRegistry")
{}
