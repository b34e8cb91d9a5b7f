import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeAgentState } from "../../src/layers/lifecycle/AgentStateLive.js"
import { isRootFile, removeRootFile, writeRootFile } from "../../src/platform/rootFiles.js"
import { TESTER } from "../support/accounts.js"
import { tempDir } from "../support/fixtures.js"
import { captureLogs } from "../support/logs.js"
import { isRoot } from "../support/pidns.js"

if (!isRoot) console.log("root file tests skipped: planting files as another user needs root")

/** Runs `argv` as the unprivileged test account, as the user CMD would. */
const asTester = (argv: ReadonlyArray<string>) =>
  execFileSync("setpriv", [`--reuid=${TESTER.uid}`, `--regid=${TESTER.gid}`, "--clear-groups", ...argv])

/**
 * A scratch directory (0755, root's) holding `victims/`, a root-only directory with root-owned files
 * the user must never make clawkerd write, truncate or remove (one of them named like the marker), and
 * `state`, the directory clawkerd writes in, owned and moded as asked.
 */
const scene = async (dirOwner: "root" | "tester", dirMode: number) => {
  const root = await tempDir("clawkerd-rootfile-")
  fs.chmodSync(root, 0o755)
  const victims = path.join(root, "victims")
  fs.mkdirSync(victims, { mode: 0o755 })
  const victim = path.join(victims, "victim")
  const past = new Date(Date.now() - 3600_000)
  for (const name of ["victim", "ready", "agent-initialized"]) {
    fs.writeFileSync(path.join(victims, name), "precious", { mode: 0o600 })
    fs.utimesSync(path.join(victims, name), past, past)
  }
  const dir = path.join(root, "state")
  fs.mkdirSync(dir)
  if (dirOwner === "tester") fs.chownSync(dir, TESTER.uid, TESTER.gid)
  fs.chmodSync(dir, dirMode)
  const untouched = () =>
    ["victim", "ready", "agent-initialized"].every((name) => {
      const file = path.join(victims, name)
      if (!fs.existsSync(file)) return false
      const stat = fs.statSync(file)
      // utimes goes through a double of seconds: the mtime read back may be off by a fraction of a ms.
      return fs.readFileSync(file, "utf8") === "precious" && Math.abs(stat.mtimeMs - past.getTime()) < 1
    })
  return { root, dir, victims, victim, untouched, file: path.join(dir, "ready") }
}

const problemOf = <E extends { readonly problem: string }>(r: Result.Result<unknown, E>) =>
  Result.isFailure(r) ? r.failure.problem : "written"

/** The file is clawkerd's own: a regular file of root's, the given mode and content, no other name. */
const expectFresh = (file: string, mode: number, content: string) => {
  const stat = fs.lstatSync(file)
  expect({ file: stat.isFile(), uid: stat.uid, mode: stat.mode & 0o7777, links: stat.nlink }).toEqual({
    file: true,
    uid: 0,
    mode,
    links: 1
  })
  expect(fs.readFileSync(file, "utf8")).toBe(content)
}

describe.skipIf(!isRoot)("files written as root never follow a link", () => {
  it.effect("a missing file is created with its mode (the ready file's 0644) in a 0700 directory; an existing one is replaced", () =>
    Effect.gen(function*() {
      const root = yield* Effect.promise(() => tempDir())
      const file = path.join(root, "run", "clawker", "ready")
      yield* writeRootFile(file, 0o644, "an older, longer content")
      expectFresh(file, 0o644, "an older, longer content")
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
      const past = new Date(Date.now() - 3600_000)
      fs.utimesSync(file, past, past)
      yield* writeRootFile(file, 0o644, "42")
      expect(fs.statSync(file).mtimeMs).toBeGreaterThan(past.getTime())
      expectFresh(file, 0o644, "42")
    }))

  it.effect("the platform's layout: a directory the agent user owns is written in, and a link the user plants there is replaced, never followed", () =>
    Effect.gen(function*() {
      const s = yield* Effect.promise(() => scene("tester", 0o755))
      yield* writeRootFile(s.file, 0o644, "1")
      expectFresh(s.file, 0o644, "1")
      fs.rmSync(s.file)
      asTester(["ln", "-s", s.victim, s.file])
      yield* writeRootFile(s.file, 0o644, "2")
      expectFresh(s.file, 0o644, "2")
      expect(s.untouched()).toBe(true)
    }))

  it.effect("a hard link to another file at the name is unlinked, not truncated; a directory there is refused", () =>
    Effect.gen(function*() {
      for (const mode of [0o755, 0o777, 0o1777]) {
        const s = yield* Effect.promise(() => scene("tester", mode))
        // Made by root here: protected_hardlinks keeps the user from linking a root file.
        fs.linkSync(s.victim, s.file)
        yield* writeRootFile(s.file, 0o600, "")
        expectFresh(s.file, 0o600, "")
        expect(s.untouched()).toBe(true)
      }
      const s = yield* Effect.promise(() => scene("tester", 0o755))
      asTester(["mkdir", s.file])
      expect(problemOf(yield* Effect.result(writeRootFile(s.file, 0o644, "")))).toBe("is a directory: refused")
    }))

  it.effect("a link the user plants higher up the path is refused: nothing written, truncated or removed through it", () =>
    Effect.gen(function*() {
      const s = yield* Effect.promise(() => scene("tester", 0o755))
      // <state> is the user's: its entry `lib` points at root's victims directory.
      asTester(["ln", "-s", s.victims, path.join(s.dir, "lib")])
      const refused = `${
        path.join(s.dir, "lib")
      } is in ${s.dir}, which others may write (owner uid ${TESTER.uid}, mode 0755): refused`
      const marker = path.join(s.dir, "lib", "agent-initialized")
      const ready = path.join(s.dir, "lib", "ready")
      expect(problemOf(yield* Effect.result(writeRootFile(marker, 0o600, "")))).toBe(refused)
      expect(problemOf(yield* Effect.result(removeRootFile(ready)))).toBe(refused)
      expect(isRootFile(marker)).toBe(false)
      // A missing directory is not made in the user's directory either.
      const deeper = path.join(s.dir, "made-by-root", "ready")
      expect(problemOf(yield* Effect.result(writeRootFile(deeper, 0o644, "")))).toMatch(/which others may write/)
      expect(fs.existsSync(path.dirname(deeper))).toBe(false)
      expect(s.untouched()).toBe(true)
    }))

  it.effect("root's own links are followed (Debian's /var/run → /run), in root's directories and in sticky ones", () =>
    Effect.gen(function*() {
      const s = yield* Effect.promise(() => scene("tester", 0o755))
      const varDir = path.join(s.root, "var")
      fs.mkdirSync(varDir, { mode: 0o755 })
      fs.symlinkSync("../state", path.join(varDir, "run"))
      const file = path.join(varDir, "run", "ready")
      yield* writeRootFile(file, 0o644, "via the link")
      expectFresh(s.file, 0o644, "via the link")
      expect(isRootFile(file)).toBe(true)
      expect(yield* removeRootFile(file)).toBe(true)
      expect(fs.existsSync(s.file)).toBe(false)
      // os.tmpdir() is sticky and everyone's: root's entries in it are root's to keep.
      const sticky = yield* Effect.promise(() => tempDir())
      yield* writeRootFile(path.join(sticky, "ready"), 0o644, "")
      expect(isRootFile(path.join(sticky, "ready"))).toBe(true)
    }))

  it.effect("removing a stale file that is a link removes the link, never its target", () =>
    Effect.gen(function*() {
      const s = yield* Effect.promise(() => scene("tester", 0o755))
      asTester(["ln", "-s", s.victim, s.file])
      expect(yield* removeRootFile(s.file)).toBe(true)
      expect(s.untouched()).toBe(true)
      expect(yield* removeRootFile(s.file)).toBe(false)
      expect(yield* removeRootFile(path.join(s.dir, "missing", "ready"))).toBe(false)
    }))

  it.effect("the init marker: only root's own file counts; a link, the user's file or a second name does not", () =>
    Effect.gen(function*() {
      const s = yield* Effect.promise(() => scene("tester", 0o755))
      const marker = path.join(s.dir, "agent-initialized")
      const logs = captureLogs()
      const state = yield* makeAgentState(marker)
      asTester(["ln", "-s", path.join(s.victims, "agent-initialized"), marker])
      expect(yield* state.initialized).toBe(false)
      fs.rmSync(marker)
      asTester(["touch", marker])
      expect(yield* state.initialized).toBe(false)
      fs.rmSync(marker)
      fs.linkSync(path.join(s.victims, "agent-initialized"), marker)
      expect(yield* state.initialized).toBe(false)
      yield* state.markInitialized.pipe(Effect.provide(logs.layer))
      expect(logs.events("agent_initialized_marker_write_failed")).toEqual([])
      expect(yield* state.initialized).toBe(true)
      expectFresh(marker, 0o600, "")
      expect(s.untouched()).toBe(true)
    }))
})
