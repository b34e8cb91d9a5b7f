import { Effect, Layer } from "effect"
import * as tty from "node:tty"
import { ProgressReporter } from "../../services/ProgressReporter.js"
import { activeLabel, doneLabel, initStepOf } from "./initSteps.js"

/** Where the progress goes: clawkerd's stdout, or a fake in tests. */
export interface ConsoleOut {
  readonly write: (chunk: string | Uint8Array) => void
  readonly isTTY: boolean
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
const FRAME_MS = 80
const color = (code: number, text: string) => `\x1b[${code}m${text}\x1b[0m`
const CLEAR_LINE = "\r\x1b[2K"

/**
 * The init-progress console. On a TTY the active step spins in place and is replaced by its ✓/✗
 * line; elsewhere every call is one plain line. Once muted (Final, or any Session end) it never
 * writes again: by then the user CMD owns the terminal.
 *
 * The spinner is a dozen lines of our own: the spinner libraries we looked at install SIGINT/SIGTERM
 * handlers that call process.exit and patch process.stdout/stderr, neither acceptable in PID 1.
 */
export const makeProgressReporter = (out: ConsoleOut) => {
  const info = out.isTTY ? color(36, "ℹ") : "[info]"
  const ok = out.isTTY ? color(32, "✓") : "✓"
  const failed = out.isTTY ? color(31, "✗") : "✗"
  let muted = false
  // A step's completion line is written once: a later Error for the same id (a late Stdin, say) is no failure of it.
  const completed = new Set<string>()
  let spinning: { readonly label: string; readonly timer: NodeJS.Timeout; frame: number } | undefined

  const stopSpinner = () => {
    if (spinning === undefined) return
    clearInterval(spinning.timer)
    out.write(CLEAR_LINE)
    spinning = undefined
  }
  const line = (text: string) => {
    stopSpinner()
    out.write(`${text}\n`)
  }
  const spin = (label: string) => {
    stopSpinner()
    const state = {
      label,
      frame: 0,
      timer: setInterval(() => {
        state.frame = (state.frame + 1) % FRAMES.length
        out.write(`${CLEAR_LINE}  ${color(36, FRAMES[state.frame]!)} ${label}`)
      }, FRAME_MS).unref()
    }
    spinning = state
    out.write(`  ${color(36, FRAMES[0]!)} ${label}`)
  }
  const unlessMuted = (f: () => void) =>
    Effect.sync(() => {
      if (!muted) f()
    })

  return ProgressReporter.of({
    banner: unlessMuted(() => line(`${info} Starting Clawker agent...`)),
    startStep: (commandId) =>
      unlessMuted(() => {
        const step = initStepOf(commandId)
        if (step === undefined) return
        completed.delete(commandId)
        if (out.isTTY) spin(activeLabel(step))
        else line(`  ${activeLabel(step)}`)
      }),
    endStep: (commandId, succeeded) =>
      unlessMuted(() => {
        const step = initStepOf(commandId)
        if (step === undefined || completed.has(commandId)) return
        completed.add(commandId)
        line(succeeded ? `  ${ok} ${doneLabel(step)}` : `  ${failed} ${activeLabel(step)} (failed)`)
      }),
    echo: (bytes) =>
      unlessMuted(() => {
        if (bytes.byteLength === 0) return
        // The command's own output wins the line; the spinner would only garble it.
        stopSpinner()
        out.write(bytes)
      }),
    final: unlessMuted(() => {
      line(`${info} Running agent command...`)
      muted = true
    }),
    mute: Effect.sync(() => {
      stopSpinner()
      muted = true
    })
  })
}

/** clawkerd's stdout; "TTY" as the spec means it: the fd is a terminal. */
export const ProgressReporterLive: Layer.Layer<ProgressReporter> = Layer.sync(
  ProgressReporter,
  () =>
    makeProgressReporter({
      write: (chunk) => process.stdout.write(chunk),
      isTTY: tty.isatty(1)
    })
)
