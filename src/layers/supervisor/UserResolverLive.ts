import { Effect, Layer, Result } from "effect"
import * as fs from "node:fs/promises"
import { errorMessage } from "../../lib/errorText.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { UserResolveError, UserResolver } from "../../services/UserResolver.js"
import { parseGroup, parsePasswd, resolveUserSpec } from "./passwd.js"

/** An unreadable file is an error naming it: the spec never lets a file-open error pass silently. */
const readFile = (spec: string, what: string, file: string) =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (e) =>
      new UserResolveError({
        spec,
        problem: `cannot read the ${what} file ${file}: ${errorMessage(e)}`
      })
  })

/** Reads both files on every call: resolution happens once, at boot. */
export const UserResolverLive: Layer.Layer<UserResolver, never, DaemonConfig> = Layer.effect(
  UserResolver,
  Effect.map(DaemonConfig, (config) => ({
    resolve: (spec) =>
      Effect.gen(function*() {
        const passwd = parsePasswd(yield* readFile(spec, "passwd", config.passwdFile))
        const groups = parseGroup(yield* readFile(spec, "group", config.groupFile))
        return yield* Effect.fromResult(
          Result.mapError(resolveUserSpec(spec, passwd, groups), (problem) => new UserResolveError({ spec, problem }))
        )
      })
  }))
)
