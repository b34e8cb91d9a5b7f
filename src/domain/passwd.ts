import { Result } from "effect"
import type { TargetUser } from "../services/UserResolver.js"

/*
 * CLAWKER_USER against the text of a passwd and a group file, the way Docker's `--user` reads
 * them: `name`, `uid`, `name:group` or `uid:gid`, each part a name or a number.
 *
 * A number must exist in its file too (spec: an unknown user or group is a configuration error).
 * Inits such as tini run a bare uid with HOME=/, but the spec gives no such exception, and
 * without a passwd entry there is no name for USER/LOGNAME and no home for HOME.
 */

export interface PasswdEntry {
  readonly name: string
  readonly uid: number
  readonly gid: number
  readonly home: string
  readonly shell: string
}

export interface GroupEntry {
  readonly name: string
  readonly gid: number
  readonly members: ReadonlyArray<string>
}

const ID = /^\d+$/

const isId = (text: string): boolean => ID.test(text) && Number(text) <= 0x7fffffff

/** Fields of the lines that have at least `count` of them; comments, blanks and NIS `+` lines skipped. */
const records = (text: string, count: number): Array<Array<string>> =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#") && !line.startsWith("+") && !line.startsWith("-"))
    .map((line) => line.split(":"))
    .filter((fields) => fields.length >= count)

/** Lines that do not parse are skipped, as getpwnam(3) does. Defaults follow login(1). */
export const parsePasswd = (text: string): Array<PasswdEntry> =>
  records(text, 7).flatMap(([name = "", , uid = "", gid = "", , home = "", shell = ""]) =>
    name !== "" && isId(uid) && isId(gid)
      ? [{ name, uid: Number(uid), gid: Number(gid), home: home || "/", shell: shell || "/bin/sh" }]
      : []
  )

export const parseGroup = (text: string): Array<GroupEntry> =>
  records(text, 4).flatMap(([name = "", , gid = "", members = ""]) =>
    name !== "" && isId(gid)
      ? [{ name, gid: Number(gid), members: members.split(",").map((m) => m.trim()).filter((m) => m !== "") }]
      : []
  )

const findUser = (part: string, passwd: ReadonlyArray<PasswdEntry>): Result.Result<PasswdEntry, string> => {
  const byId = isId(part)
  const entry = passwd.find((p) => (byId ? p.uid === Number(part) : p.name === part))
  if (entry !== undefined) return Result.succeed(entry)
  return Result.fail(byId ? `no passwd entry has uid ${part}` : `unknown user "${part}"`)
}

const findGid = (part: string, groups: ReadonlyArray<GroupEntry>): Result.Result<number, string> => {
  const byId = isId(part)
  const entry = groups.find((g) => (byId ? g.gid === Number(part) : g.name === part))
  if (entry !== undefined) return Result.succeed(entry.gid)
  return Result.fail(byId ? `no group entry has gid ${part}` : `unknown group "${part}"`)
}

/** Resolves a spec; the Left is the problem, phrased to follow `CLAWKER_USER "<spec>": `. */
export const resolveUserSpec = (
  spec: string,
  passwd: ReadonlyArray<PasswdEntry>,
  groups: ReadonlyArray<GroupEntry>
): Result.Result<TargetUser, string> =>
  Result.gen(function*() {
    const parts = spec.trim().split(":")
    const [userPart = "", groupPart] = parts
    if (userPart === "") return yield* Result.fail("empty user spec (expected name, uid, name:group or uid:gid)")
    if (parts.length > 2 || groupPart === "") {
      return yield* Result.fail("malformed user spec (expected name, uid, name:group or uid:gid)")
    }
    const user = yield* findUser(userPart, passwd)
    const gid = groupPart === undefined ? user.gid : yield* findGid(groupPart, groups)
    const listed = groups.filter((g) => g.members.includes(user.name)).map((g) => g.gid)
    return {
      name: user.name,
      uid: user.uid,
      gid,
      groups: [...new Set([gid, ...listed])].sort((a, b) => a - b),
      home: user.home,
      shell: user.shell
    }
  })
