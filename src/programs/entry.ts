// First: signal handling and the inspector (src/platform/bootGuard.ts); bin.js already did it when it ran us.
import "./guard.js"
import { Effect } from "effect"
import { errorDetail } from "../lib/errorText.js"
import { main } from "./main.js"

/*
 * The only place that ends the process. Until main's own handlers (which log to the file) are in
 * place, and as a last resort after them, a stray rejection or exception is reported on stderr and
 * PID 1 goes on.
 */
const report = (event: string) => (reason: unknown) => {
  const detail = errorDetail(reason)
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: "error", event, detail }) + "\n")
}
process.on("unhandledRejection", report("unhandled_rejection"))
process.on("uncaughtException", report("uncaught_exception"))

Effect.runPromise(main(process.argv.slice(2))).then(
  (code) => {
    process.exitCode = code
    process.exit(code)
  },
  (defect: unknown) => {
    report("main_defect")(defect)
    process.exit(1)
  }
)
