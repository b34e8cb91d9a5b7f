const CLOSED_PIPE_CODES = new Set([
  "EPIPE",
  "ECONNRESET",
  "EBADF",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
  "ERR_STREAM_PREMATURE_CLOSE"
])

const errorCode = (e: unknown): string | undefined => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  return typeof code === "string" ? code : undefined
}

/** The other end went away or our end is already closed: the spec treats these as an orderly end, not a failure. */
export const isClosedPipe = (e: unknown): boolean => CLOSED_PIPE_CODES.has(errorCode(e) ?? "")
