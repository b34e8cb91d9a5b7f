import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import * as path from "node:path"
import { parseGroup, parsePasswd } from "../../src/domain/passwd.js"
import { UserResolverLive } from "../../src/layers/UserResolverLive.js"
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
  it.effect("name: uid, primary gid, every group listing the user plus the primary, home, shell", () =>
    Effect.gen(function*() {
      const { accounts, user } = yield* resolved("tester")
      expect(user).toEqual({
        name: "tester",
        uid: TESTER.uid,
        gid: TESTER.gid,
        groups: [TESTER.gid, TESTER.extraGroup],
        home: accounts.home,
        shell: "/bin/sh"
      })
    }))

  it.effect("uid: the same account found by number", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("4242")
      expect(user).toMatchObject({ name: "tester", uid: 4242, gid: 4242, groups: [4242, 4243] })
    }))

  it.effect("name:group by group name replaces the primary gid", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("tester:other")
      expect(user).toMatchObject({ uid: 4242, gid: 4244, groups: [4243, 4244] })
    }))

  it.effect("uid:gid by numbers", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("4242:4243")
      expect(user).toMatchObject({ name: "tester", uid: 4242, gid: 4243, groups: [4243] })
    }))

  it.effect("root resolves to 0:0 with only its primary group", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("root")
      expect(user).toMatchObject({ uid: 0, gid: 0, groups: [0], home: "/root" })
    }))

  it.effect("an empty shell field defaults to /bin/sh; the home is taken as written", () =>
    Effect.gen(function*() {
      const { user } = yield* resolved("nohome")
      expect(user).toMatchObject({ uid: 4300, home: "/nonexistent", shell: "/bin/sh" })
    }))

  it.effect.each([
    { spec: "ghost", message: `CLAWKER_USER "ghost": unknown user "ghost"` },
    { spec: "9999", message: `CLAWKER_USER "9999": no passwd entry has uid 9999` },
    { spec: "tester:nogroup", message: `CLAWKER_USER "tester:nogroup": unknown group "nogroup"` },
    { spec: "tester:9999", message: `CLAWKER_USER "tester:9999": no group entry has gid 9999` },
    { spec: "", message: `CLAWKER_USER "": empty user spec (expected name, uid, name:group or uid:gid)` },
    { spec: "  ", message: `CLAWKER_USER "  ": empty user spec (expected name, uid, name:group or uid:gid)` },
    { spec: ":4242", message: `CLAWKER_USER ":4242": empty user spec (expected name, uid, name:group or uid:gid)` },
    {
      spec: "tester:",
      message: `CLAWKER_USER "tester:": malformed user spec (expected name, uid, name:group or uid:gid)`
    },
    { spec: "a:b:c", message: `CLAWKER_USER "a:b:c": malformed user spec (expected name, uid, name:group or uid:gid)` }
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
      { name: "nohome", uid: 11, gid: 20, home: "/", shell: "/bin/sh" }
    ])
  })

  it("reads member lists, tolerating spaces and empty members", () => {
    expect(parseGroup("g:x:5:a, b,,c\nempty:x:6:\nbad:x:x:a\n")).toEqual([
      { name: "g", gid: 5, members: ["a", "b", "c"] },
      { name: "empty", gid: 6, members: [] }
    ])
  })
})
