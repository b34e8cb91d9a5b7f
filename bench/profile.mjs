// Preloaded into clawkerd by `npm run bench -- --cpu-prof=DIR` (bench/run.ts; Node 20 refuses --cpu-prof
// in NODE_OPTIONS): profiles the whole process through the inspector and writes DIR/clawkerd-PID.cpuprofile
// when it exits. V8's sampler runs on SIGPROF, which clawkerd forwards: its listener would take the
// signal (and, removed at exit, kill the process), so listeners for SIGPROF alone are left out.
import * as fs from "node:fs"
import { Session } from "node:inspector"
import * as path from "node:path"

const on = process.on.bind(process)
const off = process.off.bind(process)
process.on = (event, listener) => (event === "SIGPROF" ? process : on(event, listener))
process.off = (event, listener) => (event === "SIGPROF" ? process : off(event, listener))

const dir = process.env.CLAWKERD_BENCH_PROFILE_DIR
if (dir !== undefined) {
  const session = new Session()
  session.connect()
  session.post("Profiler.enable")
  session.post("Profiler.setSamplingInterval", { interval: 100 })
  session.post("Profiler.start")
  // A same-thread inspector session answers synchronously, so this completes inside 'exit'.
  on("exit", () =>
    session.post("Profiler.stop", (error, result) => {
      if (error === null) {
        fs.writeFileSync(
          path.join(dir, `clawkerd-${Date.now()}-${process.pid}.cpuprofile`),
          JSON.stringify(result.profile)
        )
      }
    }))
}
