import type { ReapedStatus } from "./native.js"
import { addon } from "./native.js"

/** A SIGCHLD can be coalesced or arrive before the listener saw the pid: look again this often. */
const SAFETY_TICK_MS = 250

type OnExit = (status: ReapedStatus) => void

/** Children spawned by `spawnChild`, not yet reaped: only these pids are ever waited for here. */
const watched = new Map<number, OnExit>()
/** Watched children left unreaped for now, even once they exited (a zombie keeps its process group). */
const held = new Set<number>()
let timer: NodeJS.Timeout | undefined

const reapWatched = () => {
  for (const [pid, onExit] of watched) {
    if (held.has(pid)) continue
    let status: ReapedStatus | null
    try {
      status = addon.reap(pid)
    } catch {
      // ECHILD: someone else took it. Its status is lost (both null: unknown), but its waiters must not hang.
      status = { pid, code: null, signal: null }
    }
    if (status === null) continue
    watched.delete(pid)
    onExit(status)
  }
  if (watched.size === 0) stopWatching()
}

const startWatching = () => {
  if (timer !== undefined) return
  process.on("SIGCHLD", reapWatched)
  timer = setInterval(reapWatched, SAFETY_TICK_MS)
  timer.unref()
}

function stopWatching() {
  if (timer === undefined) return
  process.off("SIGCHLD", reapWatched)
  clearInterval(timer)
  timer = undefined
}

/** The child's environment as posix_spawn takes it. */
export const environ = (env: NodeJS.ProcessEnv): Array<string> =>
  Object.entries(env).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]))

/**
 * Starts `file` with the addon and waits for it with waitid, by pid, so its exit status is the
 * kernel's (a real-time signal keeps its number) and nobody else's wait can take it: libuv does not
 * know the pid, and the Reaper leaves alone what the ProcessRegistry holds. `onExit` runs once, from
 * a signal listener or a timer, outside any fiber. `hold`: not reaped before `releaseChild`, so the
 * process group it leads stays joinable by the stages started after it.
 */
export const spawnChild = (
  file: string,
  argv: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  fds: ReadonlyArray<number>,
  cwd: string,
  onExit: OnExit,
  hold = false
): number => {
  const pid = addon.spawn(file, argv, environ(env), fds, cwd)
  if (hold) held.add(pid)
  watched.set(pid, onExit)
  startWatching()
  // It may have exited already, before the listener existed.
  queueMicrotask(reapWatched)
  return pid
}

/** Ends a hold of `spawnChild`: the child is reaped as soon as it exits (now, if it did). */
export const releaseChild = (pid: number): void => {
  if (held.delete(pid)) queueMicrotask(reapWatched)
}
