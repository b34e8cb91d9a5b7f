import type { Effect } from "effect"
import { Context, Data } from "effect"

/** The unprivileged account the user CMD runs as. */
export interface TargetUser {
  readonly name: string
  readonly uid: number
  readonly gid: number
  /**
   * Supplementary groups, in group-file order: every group that lists the user for `name`/`uid`, none
   * for an explicit group. The primary gid only when a group lists the user. Empty clears clawkerd's own.
   */
  readonly groups: ReadonlyArray<number>
  /** Empty: HOME is left as it is. */
  readonly home: string
  readonly shell: string
}

export class UserResolveError extends Data.TaggedError("UserResolveError")<{
  readonly spec: string
  readonly problem: string
}> {
  override get message(): string {
    return `CLAWKER_USER "${this.spec}": ${this.problem}`
  }
}

export interface UserResolverShape {
  /** `name`, `uid`, `name:group` or `uid:gid`, against the configured passwd and group files. */
  readonly resolve: (spec: string) => Effect.Effect<TargetUser, UserResolveError>
}

export class UserResolver extends Context.Service<UserResolver, UserResolverShape>()("clawkerd/UserResolver") {}
