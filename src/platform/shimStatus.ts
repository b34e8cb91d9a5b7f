import * as fs from "node:fs"
import { getSystemErrorMap } from "node:util"

/** "No such file or directory (ENOENT)"-style text for a bare errno number. */
const errnoText = (errno: number): string => {
  const known = getSystemErrorMap().get(-errno)
  return known === undefined ? `errno ${errno}` : known[1]
}

/** What the exec shim wrote to its status fd: the step that failed (exec, setresuid, ...) and strerror text. */
export interface ShimFailure {
  readonly step: string
  readonly reason: string
}

export const parseShimStatus = (status: string): ShimFailure => {
  const [step = "", errno = ""] = status.trim().split(":")
  return { step, reason: errnoText(Number(errno)) }
}

/**
 * Reads the shim's close-on-exec status pipe until EOF, then closes it: "" means the program runs
 * (exec closed the shim's end), anything else is "<step>:<errno>" from a failure before or at exec.
 */
export const readShimStatus = (fd: number, done: (status: string) => void): void => {
  const chunks: Array<Buffer> = []
  const next = () =>
    fs.read(fd, Buffer.alloc(256), 0, 256, null, (err, n, buffer) => {
      if (err === null && n > 0) {
        chunks.push(buffer.subarray(0, n))
        return next()
      }
      fs.close(
        fd,
        () => done(err === null ? Buffer.concat(chunks).toString("utf8") : `status pipe:${-(err.errno ?? 0)}`)
      )
    })
  next()
}
