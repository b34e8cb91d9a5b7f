import type { ChildProcess, SpawnOptions, StdioOptions } from "node:child_process"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { getSystemErrorMap } from "node:util"
import { addon, execShimPath } from "./native.js"

/** A step of the shim (or exec itself) that failed, with its errno: "<step>:<errno>" on the status pipe. */
export interface ShimFailure {
  readonly step: string
  readonly errno: number
}

/** A program started through the shim; its pid (if any) is the shim's, which becomes the program. */
export interface ShimStart {
  readonly child: ChildProcess
  /** Called back once: undefined when the program runs (exec closed the status pipe), else what failed. */
  readonly execd: (callback: (failure: ShimFailure | undefined) => void) => void
}

/** The soft core limit PID 1 set to 0 for itself at boot; the shim gives it back to every program. */
let childCoreLimit: string | undefined

/**
 * PID 1's boot hardening (native/src/hardening.c): inherited fds close-on-exec, not dumpable, soft
 * core limit 0. Only the daemon calls it; the children get the old core limit back from the shim.
 */
export const hardenSelf = (): void => {
  childCoreLimit = addon.hardenSelf()
}

/** [name, strerror-style text] of an errno ("ENOENT", "no such file or directory"). */
export const errnoDescription = (errno: number): readonly [string, string] =>
  getSystemErrorMap().get(-errno) ?? [`errno ${errno}`, `errno ${errno}`]

const parseStatus = (status: string): ShimFailure => {
  const [step = "", errno = ""] = status.trim().split(":")
  return { step, errno: Number(errno) }
}

/** Reads the pipe until EOF (exec closed the shim's end, or the shim exited), then closes it. */
const readToEnd = (fd: number, done: (text: string) => void) => {
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

/** The shim's status pipe becomes its fd 3 (stdio index 3). */
const STATUS_FD = 3

/**
 * Spawns `argv` through the exec shim (native/src/exec_shim.c) with libuv, so libuv owns and reaps
 * the pid. `shimOptions` are the shim's own flags; the status pipe, the core limit and close-on-exec
 * for every fd >= 3 come with every start. Throws what `spawn` throws, or the status pipe's error.
 */
export const spawnThroughShim = (
  argv: ReadonlyArray<string>,
  shimOptions: ReadonlyArray<string>,
  options: SpawnOptions & { readonly stdio: StdioOptions }
): ShimStart => {
  let statusRead: number, statusWrite: number
  try {
    ;[statusRead, statusWrite] = addon.pipe()
  } catch (e) {
    throw new Error(`status pipe: ${e instanceof Error ? e.message : String(e)}`)
  }
  const stdio = typeof options.stdio === "string" ? [options.stdio, options.stdio, options.stdio] : [...options.stdio]
  const args = [
    ...shimOptions,
    ...(childCoreLimit === undefined ? [] : ["--core-soft", childCoreLimit]),
    "--status-fd",
    String(STATUS_FD),
    "--",
    ...argv
  ]
  let child: ChildProcess
  try {
    child = spawn(execShimPath, args, { ...options, stdio: [...stdio.slice(0, STATUS_FD), statusWrite] })
  } catch (e) {
    fs.closeSync(statusRead)
    throw e
  } finally {
    fs.closeSync(statusWrite)
  }
  // Read from the start, so the fd is closed even when nobody asks (a spawn that failed in libuv).
  let outcome: ShimFailure | undefined | null = null
  let waiting: ((failure: ShimFailure | undefined) => void) | undefined
  readToEnd(statusRead, (status) => {
    outcome = status === "" ? undefined : parseStatus(status)
    waiting?.(outcome)
  })
  return {
    child,
    execd: (callback) => (outcome === null ? (waiting = callback) : callback(outcome))
  }
}
