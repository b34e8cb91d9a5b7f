import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { AgentState } from "../../src/services/AgentState.js"
import { ProcessRegistry } from "../../src/services/ProcessRegistry.js"
import { Supervisor } from "../../src/services/Supervisor.js"
import { TESTER, writeAccounts } from "../support/accounts.js"
import { tempDir } from "../support/fixtures.js"
import { captureLogs } from "../support/logs.js"
import { isRoot } from "../support/pidns.js"
import { configFrom, supervisorLayers } from "../support/supervisorLayers.js"

if (!isRoot) console.log("supervisor integration tests skipped: spawning as another user needs root")

/**
 * The Supervisor in this process, over real processes run as the test account. `script` is an
 * executable in the home that writes its argv, one per line, to `out` (also in the home).
 */
const setup = (userCmd: (paths: { script: string; out: string }) => ReadonlyArray<string>, user = "tester") =>
  Effect.gen(function*() {
    const dir = yield* Effect.promise(() => tempDir())
    fs.chmodSync(dir, 0o755)
    const accounts = yield* Effect.promise(() => writeAccounts(dir))
    const out = path.join(accounts.home, "out")
    const script = path.join(accounts.home, "record")
    fs.writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$@" > ${out}\n`, { mode: 0o755 })
    const readyFile = path.join(dir, "run", "clawker", "ready")
    const config = yield* configFrom({
      CLAWKER_USER: user,
      CLAWKERD_PASSWD_FILE: accounts.passwd,
      CLAWKERD_GROUP_FILE: accounts.group,
      CLAWKERD_READY_FILE: readyFile
    }, userCmd({ script, out }))
    const logs = captureLogs()
    const context = yield* Layer.build(Layer.provideMerge(supervisorLayers(config), logs.layer))
    const lines = () => fs.readFileSync(out, "utf8").split("\n").slice(0, -1)
    return {
      supervisor: Context.get(context, Supervisor),
      agentState: Context.get(context, AgentState),
      registry: Context.get(context, ProcessRegistry),
      logs,
      lines,
      dir,
      home: accounts.home,
      script,
      readyFile
    }
  })

describe.skipIf(!isRoot)("Supervisor.spawn with real processes", () => {
  // The child inherits this worker's PATH; entries the test user may not search (/root/...)
  // would turn "not found" into execvp's EACCES.
  const originalPath = process.env.PATH
  beforeAll(() => {
    process.env.PATH = "/usr/local/bin:/usr/bin:/bin"
  })
  afterAll(() => {
    process.env.PATH = originalPath
  })

  it.live("runs the CMD as the user, in clawkerd's working directory, with HOME/USER/LOGNAME replaced and the rest inherited", () =>
    Effect.gen(function*() {
      process.env.CLAWKERD_TEST_INHERITED = "kept"
      const t = yield* setup(({ script }) => [
        "sh",
        "-c",
        `${script} "$HOME" "$USER" "$LOGNAME" "$PWD" "$CLAWKERD_TEST_INHERITED" "$(id -u):$(id -g):$(id -G)"`
      ])
      expect(yield* t.supervisor.spawn("")).toBe("spawned")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.lines()).toEqual([
        t.home,
        "tester",
        "tester",
        process.cwd(),
        "kept",
        `${TESTER.uid}:${TESTER.gid}:4242 4243`
      ])
      expect(t.logs.events("spawn_started")).toMatchObject([{
        uid: 4242,
        gid: 4242,
        groups: [4242, 4243],
        cwd: process.cwd()
      }])
      expect(t.logs.events("spawn_main_reaped")).toMatchObject([{ code: 0, signal: null, exit_code: 0 }])
    }))

  it.live("touches the ready file (parents created) and marks the CMD running after the spawn", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["sh", "-c", "exit 4"])
      expect(yield* t.agentState.cmdRunning).toBe(false)
      expect(fs.existsSync(t.readyFile)).toBe(false)
      yield* t.supervisor.spawn("")
      expect(fs.existsSync(t.readyFile)).toBe(true)
      expect(yield* t.agentState.cmdRunning).toBe(true)
      expect(yield* t.supervisor.spawned).toBe(true)
      expect(yield* t.supervisor.exited).toBe(4)
    }))

  it.live("an unwritable ready file is logged and tolerated", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["true"])
      fs.mkdirSync(path.dirname(path.dirname(t.readyFile)), { recursive: true })
      fs.writeFileSync(path.dirname(t.readyFile), "a file where the directory should be")
      expect(yield* t.supervisor.spawn("")).toBe("spawned")
      expect(t.logs.events("ready_file_touch_failed")).toMatchObject([{ level: "warn", path: t.readyFile }])
    }))

  it.live("a user whose home does not exist still runs, with HOME set to it", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["sh", "-c", `[ "$HOME" = /nonexistent ]`], "nohome")
      yield* t.supervisor.spawn("")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.logs.events("spawn_started")).toMatchObject([{ uid: 4300 }])
    }))

  it.live("concurrent spawns start one child: one spawned, the rest already-spawned", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["sh", "-c", "exit 0"])
      const outcomes = yield* Effect.all(Array.from({ length: 5 }, () => t.supervisor.spawn("")), {
        concurrency: "unbounded"
      })
      expect(outcomes.filter((o) => o === "spawned")).toHaveLength(1)
      expect(outcomes.filter((o) => o === "already-spawned")).toHaveLength(4)
      expect(t.logs.events("spawn_started")).toHaveLength(1)
      expect(yield* t.supervisor.exited).toBe(0)
      expect(yield* t.registry.size).toBe(0)
    }))

  it.live("a program not on PATH is a SpawnError naming it; nothing counts as spawned, a retry may run", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["no-such-program-here", "x"])
      const failure = yield* Effect.flip(t.supervisor.spawn(""))
      expect(failure.message).toBe(`exec "no-such-program-here": no such file or directory (ENOENT)`)
      expect(yield* t.supervisor.spawned).toBe(false)
      expect(yield* t.agentState.cmdRunning).toBe(false)
      expect(fs.existsSync(t.readyFile)).toBe(false)
      expect(t.logs.events("spawn_started")).toHaveLength(0)
      // a retry with a default_cmd routes the unknown program to it and runs
      expect(yield* t.supervisor.spawn(t.script)).toBe("spawned")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.lines()).toEqual(["no-such-program-here", "x"])
    }))

  it.live("a file that is not executable is a SpawnError (EACCES)", () =>
    Effect.gen(function*() {
      const t = yield* setup(({ out }) => [out])
      fs.writeFileSync(path.join(t.home, "out"), "data", { mode: 0o644 })
      const failure = yield* Effect.flip(t.supervisor.spawn(""))
      expect(failure.message).toBe(`exec "${path.join(t.home, "out")}": permission denied (EACCES)`)
    }))

  it.live("no argv and no default_cmd is a SpawnError", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => [])
      const failure = yield* Effect.flip(t.supervisor.spawn(""))
      expect(failure.message).toMatch(/^no command to run/)
    }))

  it.live("--help routing: an option as argv[0] runs as is without default_cmd, and goes to it with one", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["--help", "me"])
      const asIs = yield* Effect.flip(t.supervisor.spawn(""))
      expect(asIs.message).toBe(`exec "--help": no such file or directory (ENOENT)`)
      expect(yield* t.supervisor.spawn(`${t.script}  fixed`)).toBe("spawned")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.lines()).toEqual(["fixed", "--help", "me"])
      expect(t.logs.events("spawn_argv_routed_to_default_cmd")).toMatchObject([
        { level: "warn", argv: ["--help", "me"], reason: "argv[0] starts with -" }
      ])
    }))

  it.live("argv whose program is on PATH runs as is, even with a default_cmd", () =>
    Effect.gen(function*() {
      const t = yield* setup(({ script }) => [script, "as-is"])
      yield* t.supervisor.spawn("sh -c false")
      expect(yield* t.supervisor.exited).toBe(0)
      expect(t.lines()).toEqual(["as-is"])
      expect(t.logs.events("spawn_argv_routed_to_default_cmd")).toHaveLength(0)
    }))

  it.live("once stop was called, spawn refuses", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["true"])
      yield* t.supervisor.stop(Duration.seconds(1))
      const failure = yield* Effect.flip(t.supervisor.spawn(""))
      expect(failure.message).toBe("clawkerd is shutting down")
    }))

  it.live("a forwardable signal before the spawn is logged as not forwarded", () =>
    Effect.gen(function*() {
      const t = yield* setup(() => ["true"])
      process.kill(process.pid, "SIGUSR2")
      while (t.logs.events("signal_not_forwarded").length === 0) yield* Effect.sleep(Duration.millis(5))
      expect(t.logs.events("signal_not_forwarded")).toMatchObject([
        { signal: "SIGUSR2", reason: "the user CMD is not running" }
      ])
    }))
})
