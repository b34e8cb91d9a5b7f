import { Deferred, Effect } from "effect"
import type { Response } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import type { ResponseSink } from "../../src/services/ShellExecutor.js"
import { isTerminal } from "../../src/wire/responses.js"

export interface ExitRequest {
  readonly commandId: string
  readonly finalExitCode: number
  /** How many responses had been handed to the sink when the exit was requested. */
  readonly sentBefore: number
}

/** A ResponseSink that keeps everything, for tests that drive a ShellSession or a Session by hand. */
export interface CollectingSink extends ResponseSink {
  readonly responses: ReadonlyArray<Response>
  readonly exitRequests: ReadonlyArray<ExitRequest>
  /** Waits for the first response (already sent or still to come) that matches. */
  readonly waitFor: (match: (response: Response) => boolean) => Effect.Effect<Response>
  /** Waits for the command's Done or Error. */
  readonly terminal: (commandId: string) => Effect.Effect<Response>
  readonly started: (commandId: string) => Effect.Effect<Response>
  readonly waitForExitRequest: Effect.Effect<ExitRequest>
  /** Every response of one command, in order. */
  readonly of: (commandId: string) => ReadonlyArray<Response>
  /** The command's OutputChunks joined. */
  readonly output: (commandId: string) => Buffer
}

/**
 * `intercept` runs before a response is recorded: a test can slow the sink down or make it die on a
 * chosen response.
 */
export const makeResponseSink = (
  intercept: (response: Response) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<CollectingSink> =>
  Effect.gen(function*() {
    const responses: Array<Response> = []
    const exitRequests: Array<ExitRequest> = []
    const waiters: Array<{ match: (r: Response) => boolean; done: Deferred.Deferred<Response> }> = []
    const exitRequested = yield* Deferred.make<ExitRequest>()

    const waitFor = (match: (r: Response) => boolean) =>
      Effect.suspend(() => {
        const found = responses.find(match)
        if (found) return Effect.succeed(found)
        return Effect.flatMap(Deferred.make<Response>(), (done) => {
          waiters.push({ match, done })
          return Deferred.await(done)
        })
      })

    const send = (response: Response) =>
      Effect.andThen(
        intercept(response),
        Effect.sync(() => {
          responses.push(response)
          for (const [i, waiter] of [...waiters.entries()].reverse()) {
            if (!waiter.match(response)) continue
            waiters.splice(i, 1)
            Deferred.doneUnsafe(waiter.done, Effect.succeed(response))
          }
        })
      )

    const of = (commandId: string) => responses.filter((r) => r.commandId === commandId)

    return {
      send,
      exitOnNonZero: (commandId, finalExitCode) =>
        Effect.suspend(() => {
          const request = { commandId, finalExitCode, sentBefore: responses.length }
          exitRequests.push(request)
          return Deferred.succeed(exitRequested, request)
        }),
      responses,
      exitRequests,
      waitFor,
      terminal: (commandId) => waitFor((r) => r.commandId === commandId && isTerminal(r)),
      started: (commandId) => waitFor((r) => r.commandId === commandId && r.payload?.$case === "started"),
      waitForExitRequest: Deferred.await(exitRequested),
      of,
      output: (commandId) =>
        Buffer.concat(of(commandId).flatMap((r) => (r.payload?.$case === "output" ? [r.payload.value.data] : [])))
    }
  })
