/*
 * The boot guard as bin.js installs it, then a SIGTERM and a SIGHUP delivered before any layer of the
 * daemon exists (as during the first milliseconds of boot). Prints the signal ShutdownSignalLive then
 * reports, and exits 0; without the guard, either signal ends this process (they are not PID 1 here).
 */
import "../../src/programs/guard.js"
import { Effect } from "effect"
import { ShutdownSignalLive } from "../../src/layers/lifecycle/ShutdownSignalLive.js"
import { ShutdownSignal } from "../../src/services/ShutdownSignal.js"

process.kill(process.pid, "SIGHUP")
process.kill(process.pid, "SIGTERM")
await new Promise((resolve) => setTimeout(resolve, 100))

const received = Effect.flatMap(ShutdownSignal, (s) => s.received).pipe(
  Effect.timeout("2 seconds"),
  Effect.provide(ShutdownSignalLive)
)
console.log(await Effect.runPromise(received))
process.exit(0)
