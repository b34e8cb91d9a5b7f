import { Effect, Layer } from "effect"
import { ProcessRegistry } from "../../services/ProcessRegistry.js"

/** A plain set: add/remove/owns are synchronous so they can run inside spawn and exit callbacks. */
export const ProcessRegistryLive: Layer.Layer<ProcessRegistry> = Layer.sync(ProcessRegistry, () => {
  const pids = new Set<number>()
  return {
    add: (pid) => void pids.add(pid),
    remove: (pid) => void pids.delete(pid),
    owns: (pid) => pids.has(pid),
    size: Effect.sync(() => pids.size)
  }
})
