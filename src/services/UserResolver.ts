import type { Effect } from "effect"
import { Context, Data } from "effect"

/** The unprivileged account the user CMD runs as. */
export interface TargetUser {
  readonly name: string
  readonly uid: number
  readonly gid: number
  /** Supplementary groups: every group of the group file that lists the user, plus the primary gid. */
  readonly groups: ReadonlyArray<number>
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
