import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeAgentState } from "../../src/layers/lifecycle/AgentStateLive.js"
import { removeRootFile, writeRootFile } from "../../src/platform/rootFiles.js"
import { TESTER } from "../support/accounts.js"
import { tempDir } from "../support/fixtures.js"
import { captureLogs } from "../support/logs.js"
import { isRoot } from "../support/pidns.js"

if (!isRoot) console.log("root file tests skipped: planting files as another user needs root")

/** Runs `argv` as the unprivileged test account, as the user CMD would. */
const asTester = (argv: ReadonlyArray<string>) =>
  execFileSync("setpriv", [`--reuid=${TESTER.uid}`, `--regid=${TESTER.gid}`, "--clear-groups", ...argv])

/**
 * A scratch directory (0755, root's) holding `victim`, a root-owned file the user must not be able to
 * make clawkerd write through, and `dir`, where clawkerd writes as root.
 */
const scene = async (dirOwner: "root" | "tester", dirMode: number) => {
  const root = await tempDir("clawkerd-rootfile-")
  fs.chmodSync(root, 0o755)
  const victim = path.join(root, "victim")
  fs.writeFileSync(victim, "precious", { mode: 0o644 })
  const past = new Date(Date.now() - 3600_000)
  fs.utimesSync(victim, past, past)
  const dir = path.join(root, "state")
  fs.mkdirSync(dir)
  if (dirOwner === "tester") fs.chownSync(dir, TESTER.uid, TESTER.gid)
  fs.chmodSync(dir, dirMode)
  const untouched = () => {
    const stat = fs.statSync(victim)
    // utimes goes through a double of seconds: the mtime read back may be off by a fraction of a ms.
    return fs.readFileSync(victim, "utf8") === "precious" && Math.abs(stat.mtimeMs - past.getTime()) < 1
  }
  return { dir, victim, untouched, file: path.join(dir, "ready") }
}

const problemOf = <E extends { readonly problem: string }>(r: Result.Result<unknown, E>) =>
  Result.isFailure(r) ? r.failure.problem : "written"

describe.skipIf(!isRoot)("files written as root never follow a link", () => {
  it.effect("a missing file is created with its mode (the ready file's 0644) in a 0700 directory; an existing one gets the new content and mtime", () =>
    Effect.gen(function*() {
      const root = yield* Effect.promise(() => tempDir())
      const file = path.join(root, "run", "clawker", "ready")
      yield* writeRootFile(file, 0o644, "an older, longer content")
      expect(fs.statSync(file).mode & 0o777).toBe(0o644)
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
      const past = new Date(Date.now() - 3600_000)
      fs.utimesSync(file, past, past)
      yield* writeRootFile(file, 0o644, "42")
      expect(fs.statSync(file).mtimeMs).toBeGreaterThan(past.getTime())
      expect(fs.readFileSync(file, "utf8")).toBe("42")
    }))

  it.effect("a link the user planted in a directory the user owns: refused, the target untouched", () =>
    Effect.gen(function*() {
      const s = yield* Effect.promise(() => scene("tester", 0o755))
      asTester(["ln", "-s", s.victim, s.file])
      const r = yield* Effect.result(writeRootFile(s.file, 0o600, ""))
      expect(problemOf(r)).toBe("its directory is owned by uid 4242 (mode 0755): refused")
      expect(s.untouched()).toBe(true)
      expect(fs.lstatSync(s.file).isSymbolicLink()).toBe(true)
    }))

  it.effect("a link the user planted in a root directory anyone may write (even sticky): refused", () =>
    Effect.gen(function*() {
      for (const mode of [0o777, 0o1777, 0o775]) {
        const s = yield* Effect.promise(() => scene("root", mode))
        if ((mode & 0o002) !== 0) asTester(["ln", "-s", s.victim, s.file])
        else fs.symlinkSync(s.victim, s.file)
        const r = yield* Effect.result(writeRootFile(s.file, 0o600, ""))
        expect(problemOf(r)).toBe(`its directory is writable by group or others (mode 0${mode.toString(8)}): refused`)
        expect(s.untouched()).toBe(true)
      }
    }))

  it.effect("a link already in a root-only directory (left in the image): O_NOFOLLOW refuses it", () =>
    Effect.gen(function*() {
      const s = yield* Effect.promise(() => scene("root", 0o700))
      fs.symlinkSync(s.victim, s.file)
      const r = yield* Effect.result(writeRootFile(s.file, 0o600, ""))
      expect(problemOf(r)).toBe("is a symbolic link: refused (never followed)")
      expect(s.untouched()).toBe(true)
    }))

  it.effect("removing a stale file that is a link removes the link, never its target", () =>
    Effect.gen(function*() {
      const s = yield* Effect.promise(() => scene("root", 0o700))
      fs.symlinkSync(s.victim, s.file)
      expect(yield* removeRootFile(s.file)).toBe(true)
      expect(fs.existsSync(s.victim) && s.untouched()).toBe(true)
      expect(yield* removeRootFile(s.file)).toBe(false)
    }))

  it.effect("the init marker: a planted link is not written through and does not count as initialized", () =>
    Effect.gen(function*() {
      const s = yield* Effect.promise(() => scene("tester", 0o755))
      const marker = path.join(s.dir, "agent-initialized")
      asTester(["ln", "-s", s.victim, marker])
      const logs = captureLogs()
      const state = yield* makeAgentState(marker)
      expect(yield* state.initialized).toBe(false)
      yield* state.markInitialized.pipe(Effect.provide(logs.layer))
      expect(s.untouched()).toBe(true)
      expect(logs.events("agent_initialized_marker_write_failed")).toMatchObject([
        { level: "warn", path: marker, error: "its directory is owned by uid 4242 (mode 0755): refused" }
      ])
      expect(yield* state.initialized).toBe(false)
    }))
})
