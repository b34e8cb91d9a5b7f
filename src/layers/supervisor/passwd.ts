import { Result } from "effect"
import type { TargetUser } from "../../services/UserResolver.js"

/*
 * CLAWKER_USER against the text of a passwd and a group file, by the rules the reference takes from
 * moby (`GetExecUser`, spec supervisor-register-lifecycle.md §3): `user[:group]`, each part a name or
 * a number. `name` and `uid` get the supplementary groups that list the user; any explicit group
 * clears them. A numeric gid needs no group entry; a numeric uid needs a passwd entry (the reference
 * looks its name up for USER/LOGNAME).
 */

export interface PasswdEntry {
  readonly name: string
  readonly uid: number
  readonly gid: number
  /** As written; empty leaves HOME unchanged in the child. */
  readonly home: string
  readonly shell: string
}

export interface GroupEntry {
  readonly name: string
  readonly gid: number
  readonly members: ReadonlyArray<string>
}

const ID = /^\d+$/
const MAX_ID = 0x7fffffff

const isId = (text: string): boolean => ID.test(text) && Number(text) <= MAX_ID

/** Fields of the lines that have at least `count` of them; comments, blanks and NIS `+` lines skipped. */
const records = (text: string, count: number): Array<Array<string>> =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#") && !line.startsWith("+") && !line.startsWith("-"))
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= count)

/** Lines that do not parse are skipped, as getpwnam(3) does. An empty shell defaults as in login(1). */
export const parsePasswd = (text: string): Array<PasswdEntry> =>
  records(text, 7).flatMap(([name = "", , uid = "", gid = "", , home = "", shell = ""]) =>
    name !== "" && isId(uid) && isId(gid)
      ? [{ name, uid: Number(uid), gid: Number(gid), home, shell: shell || "/bin/sh" }]
      : []
  )

export const parseGroup = (text: string): Array<GroupEntry> =>
  records(text, 4).flatMap(([name = "", , gid = "", members = ""]) =>
    name !== "" && isId(gid)
      ? [{ name, gid: Number(gid), members: members.split(",").map((m) => m.trim()).filter((m) => m !== "") }]
      : []
  )

/** A decimal integer, sign allowed, is always an id (moby's Atoi); anything else is a name. */
const numeric = (part: string): Result.Result<number | undefined, string> => {
  if (!/^[+-]?\d+$/.test(part)) return Result.succeed(undefined)
  const n = Number(part)
  return n >= 0 && n <= MAX_ID ? Result.succeed(n) : Result.fail("uids and gids must be in range 0-2147483647")
}

const findUser = (part: string, passwd: ReadonlyArray<PasswdEntry>): Result.Result<PasswdEntry, string> =>
  Result.flatMap(numeric(part), (uid) => {
    const entry = passwd.find((p) => (uid !== undefined ? p.uid === uid : p.name === part))
    if (entry !== undefined) return Result.succeed(entry)
    return Result.fail(
      uid !== undefined
        ? `lookup username for uid=${uid}: uid=${uid} not found in passwd`
        : `unable to find user ${part}: no matching entries in passwd file`
    )
  })

const findGid = (part: string, groups: ReadonlyArray<GroupEntry>): Result.Result<number, string> =>
  Result.flatMap(numeric(part), (gid) => {
    const entry = groups.find((g) => (gid !== undefined ? g.gid === gid : g.name === part))
    if (entry !== undefined) return Result.succeed(entry.gid)
    return gid !== undefined
      ? Result.succeed(gid)
      : Result.fail(`unable to find group ${part}: no matching entries in group file`)
  })

/** Resolves a spec; the Left is the problem, phrased to follow `CLAWKER_USER "<spec>": `. */
export const resolveUserSpec = (
  spec: string,
  passwd: ReadonlyArray<PasswdEntry>,
  groups: ReadonlyArray<GroupEntry>
): Result.Result<TargetUser, string> =>
  Result.gen(function*() {
    const trimmed = spec.trim()
    if (trimmed === "") return yield* Result.fail("empty user spec")
    // Text after a second ':' is ignored and `user:` is `user`, as in the reference.
    const [userPart = "", groupPart = ""] = trimmed.split(":")
    // The reference matches uid 0 for an empty user part and would run the CMD as root.
    if (userPart === "") return yield* Result.fail("empty user part before ':' (expected name or uid)")
    const user = yield* findUser(userPart, passwd)
    const explicitGroup = groupPart !== ""
    return {
      // USER/LOGNAME: the first row with that uid, which may differ from the spec's name.
      name: passwd.find((p) => p.uid === user.uid)?.name ?? user.name,
      uid: user.uid,
      gid: explicitGroup ? yield* findGid(groupPart, groups) : user.gid,
      groups: explicitGroup ? [] : groups.filter((g) => g.members.includes(user.name)).map((g) => g.gid),
      home: user.home,
      shell: user.shell
    }
  })

/**
 * `docker exec -u`: as resolveUserSpec, except that a uid with no passwd entry is taken as it is,
 * with gid 0 unless a group is given and HOME `/` (runc's defaults for an unknown user).
 */
export const resolveExecUserSpec = (
  spec: string,
  passwd: ReadonlyArray<PasswdEntry>,
  groups: ReadonlyArray<GroupEntry>
): Result.Result<TargetUser, string> => {
  const [userPart = "", groupPart = ""] = spec.trim().split(":")
  return Result.flatMap(numeric(userPart), (uid) =>
    uid === undefined || passwd.some((p) => p.uid === uid)
      ? resolveUserSpec(spec, passwd, groups)
      : Result.map(
        groupPart === "" ? Result.succeed(0) : findGid(groupPart, groups),
        (gid) => ({ name: "", uid, gid, groups: [], home: "/", shell: "/bin/sh" })
      ))
}
