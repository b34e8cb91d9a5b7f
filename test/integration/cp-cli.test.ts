import { Layer } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProcessRegistryLive } from "../../src/layers/reaper/ProcessRegistryLive.js"
import { ShellExecutorLive } from "../../src/layers/shell/ShellExecutorLive.js"
import { assertBuilt, repoRoot } from "../support/daemon.js"
import type { ListenerRig } from "../support/listenerRig.js"
import { startListenerRig } from "../support/listenerRig.js"
import { shellQuote } from "../support/pidns.js"
import { waitFor } from "../support/wait.js"

let rig: ListenerRig<never>
let flags: Array<string>

beforeAll(async () => {
  assertBuilt()
  rig = await startListenerRig({ capabilities: ShellExecutorLive.pipe(Layer.provide(ProcessRegistryLive)) })
  const dir = path.join(rig.fx.root, "cp")
  fs.mkdirSync(dir)
  const files = {
    ca: rig.fx.deployment.ca.certPem,
    cert: rig.fx.deployment.cpClient.certPem,
    key: rig.fx.deployment.cpClient.keyPem
  }
  flags = ["--addr", rig.address]
  for (const [name, pem] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, `${name}.pem`), pem)
    flags.push(`--${name}`, path.join(dir, `${name}.pem`))
  }
})
afterAll(async () => {
  await rig.close()
})

const cpJs = () => path.join(repoRoot, "dist/programs/cp.js")

const run = (command: string, args: ReadonlyArray<string>, input?: string, env = process.env) => {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (b) => (stdout += b))
  child.stderr.on("data", (b) => (stderr += b))
  if (input !== undefined) child.stdin.end(input)
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  )
  return { child, done, stdout: () => stdout }
}

const cli = (args: ReadonlyArray<string>, input?: string, env?: NodeJS.ProcessEnv) =>
  run(process.execPath, [cpJs(), ...flags, ...args], input, env)

/** The CLI with a pseudo-terminal as its stdin and stdout (script(1)); what we write is typed at it. */
const cliOnTerminal = (args: ReadonlyArray<string>) =>
  run("script", ["-qfec", [process.execPath, cpJs(), ...flags, ...args].map(shellQuote).join(" "), "/dev/null"])

const until = (what: string, ready: () => boolean) => waitFor(ready, 10_000, what)

describe("clawkerd-cp, the operator's CP client", () => {
  it("hello prints the HelloAck", async () => {
    const r = await cli(["hello"]).done
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe("HelloAck{initialized=false, cmd_running=false}")
  })

  it("exec -i streams output, forwards stdin until EOF and exits with the command's code", async () => {
    const r = await cli(["exec", "-i", "--", "sh", "-c", "cat; echo err >&2; exit 5"], "from stdin\n").done
    expect(r.stdout).toBe("from stdin\nerr\n")
    expect(r.code).toBe(5)
  })

  it("exec without -i closes the command's stdin, as docker exec does", async () => {
    const r = await cli(["exec", "sh", "-c", "echo \"[$(cat)]\""], "not forwarded\n").done
    expect(r).toMatchObject({ code: 0, stdout: "[]\n" })
  })

  it("exec -i on a terminal keeps stdin open: lines typed reach the command, Ctrl-D closes it", async () => {
    const t = cliOnTerminal(["exec", "-i", "--", "sh", "-c", "read line; echo \"got:$line\"; cat; echo eof"])
    t.child.stdin.write("hello\n")
    await until("the typed line", () => t.stdout().includes("got:hello"))
    t.child.stdin.write("\x04")
    const r = await t.done
    expect(r.stdout).toContain("eof")
    expect(r.code).toBe(0)
  })

  it("exec -e sets the command's variables; KEY alone passes ours", async () => {
    const r = await cli(
      [
        "exec",
        "-e",
        "FOO=a=b",
        "-e",
        "EMPTY=",
        "--env",
        "PASSED",
        "-e",
        "UNSET_HERE",
        "--",
        "sh",
        "-c",
        "echo \"$FOO|${EMPTY+set}|$PASSED|${UNSET_HERE-unset}\""
      ],
      undefined,
      { ...process.env, PASSED: "from cli", UNSET_HERE: undefined }
    ).done
    expect(r).toMatchObject({ code: 0, stdout: "a=b|set|from cli|unset\n" })
  })

  it("exec -w runs in that directory; a relative one is a usage error", async () => {
    expect(await cli(["exec", "-w", "/usr/bin", "pwd"]).done).toMatchObject({ code: 0, stdout: "/usr/bin\n" })
    const r = await cli(["exec", "-w", "tmp", "pwd"]).done
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("must be an absolute path")
  })

  it("exec --user resolves like docker exec -u: name, name:group, a bare uid, an unknown name", async () => {
    const entry = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("daemon:"))!.split(":")
    const ids = ["sh", "-c", "echo \"$(id -u):$(id -g):$(id -G):$HOME\""]
    expect((await cli(["exec", "--user", "daemon", ...ids]).done).stdout).toBe(
      `${entry[2]}:${entry[3]}:${entry[3]}:${entry[5]}\n`
    )
    expect((await cli(["exec", "-u", "daemon:nogroup", ...ids]).done).stdout).toBe(
      `${entry[2]}:65534:65534:${entry[5]}\n`
    )
    expect((await cli(["exec", "-u", "4321:4322", ...ids]).done).stdout).toBe("4321:4322:4322:/\n")
    // Docker would run it with gid 0; clawkerd refuses a uid without a gid.
    const halfDrop = await cli(["exec", "-u", "4321", ...ids]).done
    expect(halfDrop.code).toBe(126)
    expect(halfDrop.stderr).toContain("uid 4321 gid 0")
    const unknown = await cli(["exec", "-u", "no-such-user-xyz", "true"]).done
    expect(unknown.code).toBe(126)
    expect(unknown.stderr).toContain("unable to find user no-such-user-xyz")
  })

  it("usage errors exit 2 with the usage on stderr", async () => {
    for (const args of [["--bogus", "hello"], [], ["exec"], ["hello", "-i"], ["exec", "--timeout", "soon", "true"]]) {
      const r = await cli(args).done
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stderr, args.join(" ")).toContain("usage: clawkerd-cp")
      expect(r.stdout, args.join(" ")).toBe("")
    }
  })

  it("an address without a port is refused before dialling", async () => {
    const r = await run(process.execPath, [cpJs(), ...flags, "--addr", "127.0.0.1", "hello"]).done
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`--addr "127.0.0.1" has no ":port"`)
  })

  it("a closed stdout ends the CLI quietly with 141 and the command with SIGPIPE", async () => {
    const pidFile = path.join(rig.fx.root, "yes.pid")
    const r = cli(["exec", "sh", "-c", `echo $$ > ${pidFile}; exec yes`])
    await until("output", () => r.stdout().length > 0)
    r.child.stdout.destroy()
    expect(await r.done).toMatchObject({ code: 141, stderr: "" })
    const pid = Number(fs.readFileSync(pidFile, "utf8"))
    await until("the command gone", () => {
      try {
        process.kill(pid, 0)
        return false
      } catch {
        return true
      }
    })
  })

  it("a stdin faster than the command reads is paced end to end: every byte arrives, no error", async () => {
    const r = cli(["exec", "-i", "sh", "-c", "sleep 0.5; wc -c"])
    r.child.stdin.end(Buffer.alloc(16 * 1024 * 1024))
    const { code, stderr } = await r.done
    expect(stderr).toBe("")
    expect(code).toBe(0)
    expect(r.stdout().trim()).toBe(String(16 * 1024 * 1024))
  })

  it("exec forwards Ctrl-C to the command: killed by SIGINT → 130", async () => {
    const run = cli(["exec", "--", "sh", "-c", "echo started; exec sleep 100"], "")
    while (!run.stdout().includes("started")) await new Promise((r) => setTimeout(r, 20))
    run.child.kill("SIGINT")
    expect((await run.done).code).toBe(130)
  })

  it("exec of a missing program exits 127 with the reason", async () => {
    const r = await cli(["exec", "--", "no-such-program-xyz"], "").done
    expect(r.code).toBe(127)
    expect(r.stderr).toContain("SPAWN_FAILED")
  })

  it("init-done writes the marker; a bad flag is a usage error", async () => {
    expect((await cli(["init-done"]).done).stdout.trim()).toBe("Done{0}")
    expect(fs.existsSync(rig.initMarker)).toBe(true)
    expect((await cli(["frobnicate"]).done).code).toBe(2)
  })
})
