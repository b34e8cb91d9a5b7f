import { afterEach, beforeEach, expect } from "@effect/vitest"
import type { Scope } from "effect"
import { Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import type { PipeStage, Response, ShellCommand } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import { FrameRoomLive } from "../../src/layers/frameRoom/FrameRoomLive.js"
import { ProcessRegistryLive } from "../../src/layers/reaper/ProcessRegistryLive.js"
import { ShellExecutorLive } from "../../src/layers/shell/ShellExecutorLive.js"
import type { ProcessRegistry } from "../../src/services/ProcessRegistry.js"
import type { ProgressReporterShape } from "../../src/services/ProgressReporter.js"
import { ProgressReporter } from "../../src/services/ProgressReporter.js"
import { ShellExecutor } from "../../src/services/ShellExecutor.js"
import { tempDir } from "../support/fixtures.js"
import { captureLogs } from "../support/logs.js"
import { makeResponseSink } from "../support/responseSink.js"

export const stage = (argv: Array<string>, over: Partial<PipeStage> = {}): PipeStage => ({
  argv,
  uid: 0,
  gid: 0,
  cwd: "",
  env: {},
  ...over
})

export const shell = (stages: Array<PipeStage>, over: Partial<ShellCommand> = {}): ShellCommand => ({
  stages,
  timeoutSeconds: 0,
  initialStdin: Buffer.alloc(0),
  printOutput: false,
  exitOnNonZero: false,
  ...over
})

export const sh = (script: string, over: Partial<ShellCommand> = {}) => shell([stage(["sh", "-c", script])], over)

/** A ProgressReporter that only records what print_output echoed. */
export const echoRecorder = () => {
  const echoed: Array<Buffer> = []
  const reporter: ProgressReporterShape = {
    banner: Effect.void,
    startStep: () => Effect.void,
    endStep: () => Effect.void,
    echo: (bytes) => Effect.sync(() => void echoed.push(Buffer.from(bytes))),
    final: Effect.void,
    mute: Effect.void
  }
  return { echoed: () => Buffer.concat(echoed).toString(), layer: Layer.succeed(ProgressReporter, reporter) }
}

/** The executor with its real dependencies, logs captured in memory. */
export const executorLayer = (reporter: Layer.Layer<ProgressReporter> | undefined = undefined) => {
  const logs = captureLogs()
  const executor = ShellExecutorLive.pipe(
    Layer.provideMerge(ProcessRegistryLive),
    Layer.provide(reporter ?? ProgressReporter.disabled),
    Layer.provide(FrameRoomLive)
  )
  return { logs, layer: Layer.merge(executor, logs.layer) }
}

/** One Session's command table and the sink collecting its replies; closes with the enclosing scope. */
export const openSession = (intercept?: (response: Response) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const sink = yield* makeResponseSink(intercept)
    const shells = yield* Effect.flatMap(ShellExecutor, (executor) => executor.session(sink))
    return { sink, shells }
  })

export interface SessionOptions {
  readonly intercept?: (response: Response) => Effect.Effect<void>
  readonly reporter?: Layer.Layer<ProgressReporter>
}

/** Runs `body` against a fresh executor and Session, closed (commands killed and reaped) when it ends. */
export const inSession = <A, E>(
  body: (
    session: Effect.Success<ReturnType<typeof openSession>> & { logs: ReturnType<typeof captureLogs> }
  ) => Effect.Effect<A, E, Scope.Scope | ShellExecutor | ProcessRegistry>,
  options: SessionOptions = {}
) => {
  const { layer, logs } = executorLayer(options.reporter)
  return Effect.flatMap(openSession(options.intercept), (session) => body({ ...session, logs })).pipe(
    Effect.scoped,
    Effect.provide(layer)
  )
}

export const payloadCase = (r: Response) => r.payload?.$case

export const doneCode = (r: Response) => (r.payload?.$case === "done" ? r.payload.value.finalExitCode : undefined)

export const errorOf = (r: Response) => (r.payload?.$case === "error" ? r.payload.value : undefined)

export const stageExits = (responses: ReadonlyArray<Response>) =>
  responses.flatMap((r) => (r.payload?.$case === "stageExit" ? [r.payload.value] : []))

/** Live children of this process (zombies included: they are not reaped yet). */
export const childPids = (): Array<number> =>
  fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((name) => {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      return ppid === process.pid ? [Number(name)] : []
    } catch {
      return []
    }
  })

export const openFdCount = () => fs.readdirSync("/proc/self/fd").length

/** Process state letter (R, S, Z, ...) or undefined once the pid is gone. */
export const processState = (pid: number): string | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
  } catch {
    return undefined
  }
}

/** Polls until `check` holds (for effects of a finished command that nothing can await, e.g. a reap). */
export const eventually = (check: () => boolean, limit = Duration.seconds(10)): Effect.Effect<void> =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(limit)
    while (!check() && Date.now() < deadline) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
  })

/**
 * After every test: no child process of this worker is left (zombie or alive) and the open fd count is
 * back to what it was before the test.
 */
export const installLeakCheck = () => {
  let baseline = 0
  beforeEach(() => {
    baseline = openFdCount()
  })
  afterEach(async () => {
    await Effect.runPromise(
      eventually(() => childPids().length === 0 && openFdCount() <= baseline, Duration.seconds(5))
    )
    expect(childPids()).toEqual([])
    expect(openFdCount()).toBe(baseline)
  })
}

/** A temporary directory removed when the enclosing scope closes. */
export const scopedTempDir = Effect.acquireRelease(
  Effect.promise(() => tempDir()),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)
