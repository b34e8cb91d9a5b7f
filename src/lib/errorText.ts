import { getSystemErrorMap } from "node:util"

/** The message of whatever was thrown or died: an Error's message, anything else as a string. */
export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** For crash reports: an Error's stack where it has one. */
export const errorDetail = (e: unknown): string => (e instanceof Error ? e.stack ?? e.message : String(e))

/** strerror-style text for an errno error ("no such file or directory"), the message otherwise. */
export const errnoText = (e: unknown): string => {
  const errno = (e as NodeJS.ErrnoException | undefined)?.errno
  const described = typeof errno === "number" ? getSystemErrorMap().get(errno) : undefined
  return described !== undefined ? described[1] : errorMessage(e)
}
