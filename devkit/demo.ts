import { errorDetail } from "../src/lib/errorText.js"
import { runDemo } from "./demoRun.js"
import { startOtlpReceiver } from "./otlpReceiver.js"

/* The demo (devkit/demoRun.ts), run from its sources by `npm run demo` after the build; `--otlp` also runs an OTLP receiver and shows what clawkerd exported. */

const main = async () => {
  const withOtlp = process.argv.slice(2).includes("--otlp")
  const otlp = withOtlp ? await startOtlpReceiver() : undefined
  try {
    const { code } = await runDemo(otlp === undefined ? {} : { otlp })
    return code === 0 ? 0 : 1
  } finally {
    await otlp?.close()
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // eslint-disable-next-line no-console -- the demo's failure is its output
    console.error(`demo failed: ${errorDetail(error)}`)
    process.exit(1)
  }
)
