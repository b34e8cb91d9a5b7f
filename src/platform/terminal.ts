import { Effect, Semaphore } from "effect"
import * as tty from "node:tty"
import { errorMessage } from "../lib/errorText.js"
import { addon } from "./native.js"

/*
 * clawkerd's controlling terminal (fd 0, a container run with a TTY) and who has its foreground. Until
 * AgentReady clawkerd's own group has it, and lends it to each ShellCommand it runs, as a shell gives it
 * to a foreground job: the command's process group (its stages, and whatever they start in it) becomes the
 * foreground group while the command runs, so a step that reads or configures /dev/tty (an ssh prompt in
 * a git clone, sudo, `stty`) works instead of being stopped (SIGTTIN/SIGTTOU) until its timeout, and the
 * command keeps a group of its own that timeouts, Signal frames and teardown reach as a whole. The user
 * CMD then takes the terminal for good.
 */

/** The process group clawkerd lent the terminal to (a command's), while it has it. */
let lentTo: number | undefined

/** Every change clawkerd makes to the foreground (a start that takes it, a give-back), one at a time. */
const lock = Semaphore.makeUnsafe(1)

const foregroundGroup = (): number | undefined => {
  try {
    return tty.isatty(0) ? addon.tcgetpgrp(0) : undefined
  } catch {
    return undefined
  }
}

/**
 * clawkerd's own group has the foreground: stdin is its controlling terminal and its group is in the
 * foreground. A clawkerd started in the background of someone's shell must not steal that shell's
 * terminal (the TODO tini leaves open). A group id of 0 means our group's leader lives outside our PID
 * namespace: we could never name the group to take the terminal back, so we do not give it away (a
 * container's init is a session leader, never this).
 */
const ownsForeground = (): boolean => {
  try {
    const own = addon.getpgrp()
    return own > 0 && foregroundGroup() === own
  } catch {
    return false
  }
}

/**
 * Starts the user CMD, `start(true)` when clawkerd has the terminal (itself, or through a command it
 * lent it to): the CMD's group takes it for good, and no command gives it back afterwards.
 */
export const startHoldingTerminal = <A, E>(start: (foreground: boolean) => Effect.Effect<A, E>) =>
  lock.withPermits(1)(Effect.suspend(() => {
    const foreground = ownsForeground() || (lentTo !== undefined && foregroundGroup() === lentTo)
    return Effect.tap(start(foreground), () =>
      Effect.sync(() => {
        if (foreground) lentTo = undefined
      }))
  }))

/**
 * Starts a command's first stage as the leader of a new group, `start(true)` when clawkerd may lend it
 * the terminal: its own group has it and no other command does (a second command at the same time runs
 * in the background). `pidOf` names the group that got it. Without a terminal there is nothing to wait for.
 */
export const startLendingTerminal = <A, E>(
  start: (foreground: boolean) => Effect.Effect<A, E>,
  pidOf: (started: A) => number
): Effect.Effect<A, E> =>
  !tty.isatty(0) ? start(false) : lock.withPermits(1)(Effect.suspend(() => {
    const lend = lentTo === undefined && ownsForeground()
    return Effect.tap(start(lend), (started) =>
      Effect.sync(() => {
        if (lend) lentTo = pidOf(started)
      }))
  }))

/**
 * The command whose group is `pgid` ended: if it still has the terminal, clawkerd's group takes it back.
 * The error text when that fails.
 */
export const giveBackTerminal = (pgid: number): Effect.Effect<string | undefined> =>
  // Never lent to this command (nothing to wait for): only a start holding the lock lends it.
  lentTo !== pgid ? Effect.succeed(undefined) : lock.withPermits(1)(Effect.sync(() => {
    if (lentTo !== pgid) return undefined
    lentTo = undefined
    return foregroundGroup() === pgid ? reclaimTerminal() : undefined
  }))

/** Takes the foreground back for clawkerd's own group; the error text when that fails. */
export const reclaimTerminal = (): string | undefined => {
  try {
    if (tty.isatty(0)) addon.tcsetpgrp(0, addon.getpgrp())
    return undefined
  } catch (e) {
    return errorMessage(e)
  }
}
