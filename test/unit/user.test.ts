import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import * as path from "node:path"
import { parseGroup, parsePasswd, resolveUserSpec } from "../../src/layers/supervisor/passwd.js"
import { envForUser } from "../../src/layers/supervisor/userEnv.js"
import { UserResolverLive } from "../../src/layers/supervisor/UserResolverLive.js"
import { DaemonConfig } from "../../src/services/DaemonConfig.js"
import { UserResolver } from "../../src/services/UserResolver.js"
import { TESTER, writeAccounts } from "../support/accounts.js"
import { tempDir } from "../support/fixtures.js"
import { configFrom } from "../support/supervisorLayers.js"

/** Resolves `spec` against the accounts fixture, or against other file paths when given. */
const resolve = (spec: string, files: { passwd?: string; group?: string } = {}) =>
  Effect.gen(function*() {
    const accounts = yield* Effect.promise(async () => writeAccounts(await tempDir()))
    const config = yield* configFrom({
      CLAWKERD_PASSWD_FILE: files.passwd ?? accounts.passwd,
      CLAWKERD_GROUP_FILE: files.group ?? accounts.group
    }, [])
    const resolver = UserResolverLive.pipe(Layer.provide(Layer.succeed(DaemonConfig, config)))
    const result = yield* Effect.result(
      Effect.flatMap(UserResolver, (r) => r.resolve(spec)).pipe(Effect.provide(resolver))
    )
    return { accounts, result }
  })

const resolved = (spec: string) =>
  Effect.flatMap(
    resolve(spec),
    ({ accounts, result }) =>
      Effect.succeed({ accounts, user: Result.getOrThrowWith(result, (e) => new Error(e.message)) })
  )

const problem = (spec: string, files: { passwd?: string; group?: string } = {}) =>
  Effect.map(resolve(spec, files), ({ result }) => Result.isFailure(result) ? result.failure.message : "resolved")

describe("UserResolver: CLAWKER_USER against passwd and group files", () => {
  it.effect("name: uid, primary gid, the groups listing the user (not the primary), home, shell", () =>
    Effect.gen(function*() {
      const { accounts, user } = yield* resolved("tester")
      expect(user).toEqual({
        name: "tester",
        uid: TESTER.uid,
        gid: TESTER.gid,
        groups: [TESTER.extraGroup],
        home: accounts.home,
        shell: "/bin/sh"
      })
    }))

  it.effect("uid: the same account found by number", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("4242")
      expect(user).toMatchObject({ name: "tester", uid: 4242, gid: 4242, groups: [4243] })
    }))

  it.effect("name:group by group name replaces the primary gid and clears the supplementary groups", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("tester:other")
      expect(user).toMatchObject({ uid: 4242, gid: 4244, groups: [] })
    }))

  it.effect("uid:gid by numbers", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("4242:4243")
      expect(user).toMatchObject({ name: "tester", uid: 4242, gid: 4243, groups: [] })
    }))

  it.effect("root resolves to 0:0 with no supplementary group (no group lists root)", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("root")
      expect(user).toMatchObject({ uid: 0, gid: 0, groups: [], home: "/root" })
    }))

  it.effect("an empty shell field defaults to /bin/sh; the home is taken as written", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("nohome")
      expect(user).toMatchObject({ uid: 4300, home: "/nonexistent", shell: "/bin/sh" })
    }))

  it.effect("a numeric gid with no group entry is taken as given", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("tester:9999")
      expect(user).toMatchObject({ uid: 4242, gid: 9999, groups: [] })
    }))

  it.effect.each([
    { spec: "ghost", message: `CLAWKER_USER "ghost": unable to find user ghost: no matching entries in passwd file` },
    { spec: "9999", message: `CLAWKER_USER "9999": lookup username for uid=9999: uid=9999 not found in passwd` },
    {
      spec: "tester:nogroup",
      message: `CLAWKER_USER "tester:nogroup": unable to find group nogroup: no matching entries in group file`
    },
    { spec: "-1", message: `CLAWKER_USER "-1": uids and gids must be in range 0-2147483647` },
    {
      spec: "tester:2147483648",
      message: `CLAWKER_USER "tester:2147483648": uids and gids must be in range 0-2147483647`
    },
    { spec: "", message: `CLAWKER_USER "": empty user spec` },
    { spec: "  ", message: `CLAWKER_USER "  ": empty user spec` },
    { spec: ":4242", message: `CLAWKER_USER ":4242": empty user part before ':' (expected name or uid)` },
    { spec: ":", message: `CLAWKER_USER ":": empty user part before ':' (expected name or uid)` }
  ])("$spec is an error: $message", ({ message, spec }) =>
    Effect.gen(function*() {
      expect(yield* problem(spec)).toBe(message)
    }))

  it.effect("an unreadable passwd file is an error naming the file", () =>
    Effect.gen(function*() {
      const missing = path.join(yield* Effect.promise(() => tempDir()), "no-passwd")
      expect(yield* problem("tester", { passwd: missing })).toMatch(
        new RegExp(`^CLAWKER_USER "tester": cannot read the passwd file ${missing}: ENOENT`)
      )
    }))

  it.effect("an unreadable group file is an error naming the file (a directory here)", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => tempDir())
      expect(yield* problem("tester", { group: dir })).toMatch(
        new RegExp(`^CLAWKER_USER "tester": cannot read the group file ${dir}: EISDIR`)
      )
    }))
})

describe("passwd and group parsing", () => {
  it("skips comments, blank, NIS and malformed lines, keeps the rest", () => {
    const passwd = parsePasswd([
      "# comment",
      "",
      "+nis",
      "short:x:1:1",
      "bad:x:one:1::/h:/bin/sh",
      "ok:x:10:20:gecos:/home/ok:/bin/bash",
      "nohome:x:11:20:::"
    ].join("\n"))
    expect(passwd).toEqual([
      { name: "ok", uid: 10, gid: 20, home: "/home/ok", shell: "/bin/bash" },
      { name: "nohome", uid: 11, gid: 20, home: "", shell: "/bin/sh" }
    ])
  })

  it("reads member lists, tolerating spaces and empty members", () => {
    expect(parseGroup("g:x:5:a, b,,c\nempty:x:6:\nbad:x:x:a\n")).toEqual([
      { name: "g", gid: 5, members: ["a", "b", "c"] },
      { name: "empty", gid: 6, members: [] }
    ])
  })
})

/** The reference's fixture (spec supervisor-register-lifecycle.md §11 "Users"). */
const REFERENCE_PASSWD = parsePasswd("root:x:0:0:root:/root:/bin/sh\nclaude:x:1000:1000::/home/claude:/bin/sh\n")
const REFERENCE_GROUP = parseGroup("root:x:0:\nclaude:x:1000:\nwheel:x:10:claude\n")
const referenceUser = (spec: string) => resolveUserSpec(spec, REFERENCE_PASSWD, REFERENCE_GROUP)

describe("user resolution: the reference's scenarios (moby's rules)", () => {
  it.each(["claude", "1000", "+1000", "claude:", "1000:"])("%s → 1000/1000, /home/claude, groups [10]", (spec) => {
    expect(referenceUser(spec)).toEqual(Result.succeed({
      name: "claude",
      uid: 1000,
      gid: 1000,
      groups: [10],
      home: "/home/claude",
      shell: "/bin/sh"
    }))
  })

  it.each(["claude:wheel", "1000:10", "claude:10", "1000:wheel", "claude:wheel:ignored"])(
    "%s → gid 10, supplementary groups cleared",
    (spec) => {
      expect(referenceUser(spec)).toEqual(Result.succeed(expect.objectContaining({ uid: 1000, gid: 10, groups: [] })))
    }
  )

  it("errors: empty spec, an unknown name (named), an empty user part", () => {
    expect(referenceUser("")).toEqual(Result.fail("empty user spec"))
    expect(referenceUser("nosuchuser")).toEqual(
      Result.fail("unable to find user nosuchuser: no matching entries in passwd file")
    )
    expect(Result.isFailure(referenceUser(":wheel"))).toBe(true)
  })

  it("USER/LOGNAME name the first row with the uid; membership and home come from the matched row", () => {
    const passwd = parsePasswd("first:x:1000:1000::/home/first:/bin/sh\nalias:x:1000:1000:::/bin/sh\n")
    const groups = parseGroup("g:x:20:alias\n")
    expect(resolveUserSpec("alias", passwd, groups)).toEqual(Result.succeed(expect.objectContaining({
      name: "first",
      uid: 1000,
      groups: [20],
      home: ""
    })))
  })

  it("the primary group is a supplementary group only when a group lists the user; file order is kept", () => {
    const groups = parseGroup("z:x:30:claude\nclaude:x:1000:claude\na:x:5:claude\n")
    expect(resolveUserSpec("claude", REFERENCE_PASSWD, groups)).toEqual(
      Result.succeed(expect.objectContaining({ gid: 1000, groups: [30, 1000, 5] }))
    )
  })
})

describe("the user CMD's environment: the reference's scenarios (§11 \"Env\")", () => {
  const base = { PATH: "/usr/bin", HOME: "/root", USER: "root", LOGNAME: "root" }

  it("root's HOME/USER/LOGNAME are replaced", () => {
    expect(envForUser(base, { name: "claude", home: "/home/claude" })).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/claude",
      USER: "claude",
      LOGNAME: "claude"
    })
  })

  it("they are added when missing", () => {
    expect(envForUser({ PATH: "/usr/bin" }, { name: "claude", home: "/home/claude" })).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/claude",
      USER: "claude",
      LOGNAME: "claude"
    })
  })

  it("an empty home leaves HOME as it is; an empty name and home leave everything as it is", () => {
    expect(envForUser(base, { name: "claude", home: "" })).toEqual({ ...base, USER: "claude", LOGNAME: "claude" })
    expect(envForUser({ PATH: "/usr/bin" }, { name: "claude", home: "" })).not.toHaveProperty("HOME")
    expect(envForUser(base, { name: "", home: "" })).toEqual(base)
  })
})
