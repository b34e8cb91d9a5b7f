import * as tty from "node:tty"
import { errorMessage } from "../../lib/errorText.js"
import { addon } from "../../platform/native.js"

/**
 * Hand the terminal to the child only when clawkerd holds it: stdin is its controlling terminal
 * and clawkerd's group is in the foreground. A clawkerd started in the background of someone's
 * shell must not steal that shell's terminal (the TODO tini leaves open). A group id of 0 means
 * our group's leader lives outside our PID namespace: we could never name the group to take the
 * terminal back, so we do not give it away (a container's init is a session leader, never this).
 */
export const holdsTerminal = (): boolean => {
  if (!tty.isatty(0)) return false
  try {
    const own = addon.getpgrp()
    return own > 0 && addon.tcgetpgrp(0) === own
  } catch {
    return false
  }
}

/** Takes the foreground back for clawkerd's own group; the error text when that fails. */
export const reclaimTerminal = (): string | undefined => {
  try {
    if (tty.isatty(0)) addon.tcsetpgrp(0, addon.getpgrp())
    return undefined
  } catch (e) {
    return errorMessage(e)
  }
}
