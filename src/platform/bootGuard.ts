import * as inspector from "node:inspector"
import { isSea } from "node:sea"
import { FORWARDED_SIGNALS, SHUTDOWN_SIGNALS } from "./signals.js"

/*
 * What must hold before any other module of clawkerd is evaluated; src/programs/bin.ts imports this
 * first. Node 20 has no --disable-sigusr1: until a listener exists, a SIGUSR1 opens the inspector on
 * 127.0.0.1:9229, and whoever reaches it evaluates code in PID 1 (root) and reads the key. A listener
 * on every signal clawkerd handles is installed here and never removed, so no signal of the list ends
 * the daemon or opens the inspector during boot, and a SIGTERM in the first milliseconds is kept for
 * ShutdownSignalLive.
 */

/** Shared by bin.js and the daemon's bundle (each has its own copy of this module). */
const KEY = Symbol.for("clawkerd.bootGuard")

interface BootGuardState {
  /** The first SIGTERM/SIGINT, from the very start of the process. */
  firstShutdown: NodeJS.Signals | undefined
}

const state = (): BootGuardState => {
  const holder = globalThis as { [KEY]?: BootGuardState }
  return (holder[KEY] ??= { firstShutdown: undefined })
}

/** `--inspect`, `--inspect-brk`, `--inspect-port`, `--debug-port`, ... in NODE_OPTIONS or node's own flags. */
export const inspectorFlag = (options: ReadonlyArray<string>): string | undefined =>
  options.find((option) => /^--(inspect|debug)(-|=|$)/.test(option))

/** The inspector, if something opened it, closed; whether it was open. */
export const closeInspector = (): boolean => {
  if (inspector.url() === undefined) return false
  inspector.close()
  return true
}

/** SIGTERM or SIGINT received before ShutdownSignalLive listened, if any. */
export const earlyShutdownSignal = (): NodeJS.Signals | undefined => state().firstShutdown

const onShutdown = (signal: NodeJS.Signals) => {
  state().firstShutdown ??= signal
}

/** Listeners that do nothing but exist: with one, Node never starts the inspector on SIGUSR1. */
const ignore = () => {}

/**
 * Installs the guard, once per process. A NODE_OPTIONS (or command line) that asks for the inspector is
 * refused: the process exits 2 before anything else runs. The single binary ignores NODE_OPTIONS.
 */
export const installBootGuard = (): void => {
  const holder = globalThis as { [KEY]?: BootGuardState }
  if (holder[KEY] !== undefined) return
  state()
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onShutdown)
  for (const signal of FORWARDED_SIGNALS) process.on(signal, ignore)
  // The single binary never reads NODE_OPTIONS (scripts/build-binary.mjs): there it opens nothing.
  const fromEnv = isSea() ? [] : (process.env.NODE_OPTIONS ?? "").split(/\s+/)
  const flag = inspectorFlag([...fromEnv, ...process.execArgv])
  if (flag !== undefined) {
    closeInspector()
    process.stderr.write(
      `clawkerd: configuration error: ${flag} (in NODE_OPTIONS or node's flags) would open Node's inspector in PID 1; remove it\n`
    )
    process.exit(2)
  }
  closeInspector()
}
