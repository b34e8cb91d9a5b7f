import { createPrivateKey } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Response } from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"
import * as C from "../../src/programs/cp/commands.js"
import { assertBuilt } from "../support/daemon.js"
import type { DaemonRun } from "../support/daemonInNamespace.js"
import { startDaemonInNamespace } from "../support/daemonInNamespace.js"
import { tempDir } from "../support/fixtures.js"
import type { Rig } from "../support/registerRig.js"
import { startRig } from "../support/registerRig.js"
import { waitFor } from "../support/wait.js"
import { daemonTestsUnavailable } from "./support/daemonTarget.js"
import { ownSession } from "./support/hostile.js"
import { cpCredentialsOf } from "./support/hostileScenario.js"
import { listeningPortOf } from "./support/procStats.js"

/*
 * A whole life of the built daemon as PID 1, at the most verbose log level with the log mirrored
 * to stderr: a Register that fails (OAuth2 server down), one that succeeds, a replayed one, init
 * steps (one echoing its output, one failing), AgentInitialized, AgentReady, the user CMD's exit.
 * Then everything it wrote is searched for the agent's private key, the client assertion and the
 * access token: every log file, stdout, stderr and every Response the CP received.
 */

const unavailable = daemonTestsUnavailable("the secrets e2e test")

const INIT = "init-0123456789ab"

/** Every form a secret could leak in: whole, and the parts that alone would still be worth stealing. */
const secretForms = (cp: Rig): Array<[string, string]> => {
  const keyPem = cp.deployment.agent.keyPem
  const jwk = createPrivateKey(keyPem).export({ format: "jwk" })
  const jwtForms = (name: string, jwt: string): Array<[string, string]> => [
    [name, jwt],
    [`${name} signature`, jwt.split(".")[2]!]
  ]
  return [
    ["private key PEM", keyPem.trim()],
    ...keyPem.split("\n").filter((line) => line !== "" && !line.startsWith("-----")).map((line, i) =>
      [`private key line ${i}`, line] as [string, string]
    ),
    ["private key scalar (base64url)", jwk.d!],
    ["private key scalar (hex)", Buffer.from(jwk.d!, "base64url").toString("hex")],
    ...jwtForms("assertion", cp.assertion),
    ...cp.oauth.issuedTokens.flatMap((token, i) => jwtForms(`access token ${i}`, token))
  ]
}

/** A Response as text, its bytes fields decoded, so a secret inside an OutputChunk is found too. */
const responseText = (r: Response) =>
  JSON.stringify(r) + (r.payload?.$case === "output" ? Buffer.from(r.payload.value.data).toString("utf8") : "")

let cp: Rig
let run: DaemonRun | undefined
beforeAll(async () => {
  assertBuilt()
  if (unavailable === undefined) cp = await startRig()
})
afterAll(async () => {
  run?.close()
  await cp?.close()
})

describe.skipIf(unavailable !== undefined)("secrets never leave the daemon", () => {
  it("a full boot-to-exit run writes neither the key, nor the assertion, nor the access token anywhere", async () => {
    const logDir = await tempDir("clawkerd-secrets-log-")
    run = await startDaemonInNamespace({
      bootstrapDir: cp.bootstrapDir,
      deployment: cp.deployment,
      userCmd: ["sh", "-c", "read go; echo cmd-ran; exit 4"],
      env: { ...cp.env, CLAWKERD_LOG_DIR: logDir, CLAWKERD_LOG_LEVEL: "all", CLAWKERD_LOG_STDERR: "true" }
    })
    const pid = await run.ns.pid()
    await waitFor(() => listeningPortOf(pid) !== undefined, 30_000, "the daemon listening")
    const s = ownSession(`127.0.0.1:${listeningPortOf(pid)}`, cpCredentialsOf(cp.deployment))

    expect((await s.request(C.hello("h1"))).payload?.$case).toBe("helloAck")
    await cp.stopOAuth()
    expect((await s.request(C.registerRequired("reg-down"))).payload).toMatchObject({ value: { ok: false } })
    await cp.restartOAuth()
    expect((await s.request(C.registerRequired("reg"))).payload).toEqual({
      $case: "registerDone",
      value: { ok: true, error: "" }
    })
    expect((await s.request(C.registerRequired("reg-again"))).payload).toMatchObject({ value: { ok: true } })
    s.send(C.sh(`${INIT}-config-1`, "echo seeding; echo warn >&2", { printOutput: true }))
    expect((await s.collectUntilTerminal(`${INIT}-config-1`)).at(-1)!.payload?.$case).toBe("done")
    s.send(C.sh(`${INIT}-post-init-2`, "echo failing >&2; exit 1", { printOutput: true }))
    expect((await s.collectUntilTerminal(`${INIT}-post-init-2`)).at(-1)!.payload).toEqual({
      $case: "done",
      value: { finalExitCode: 1 }
    })
    expect((await s.request(C.agentInitialized("initialized"))).payload?.$case).toBe("done")
    expect((await s.request(C.agentReady("ready"))).payload?.$case).toBe("done")
    run.ns.write("go\n")
    expect((await run.ns.exited).code).toBe(4)
    await s.ended

    const logFiles = fs.readdirSync(logDir).map((name) => path.join(logDir, name))
    const written: Array<[string, string]> = [
      ...logFiles.map((file): [string, string] => [file, fs.readFileSync(file, "utf8")]),
      ["stdout", run.ns.lines().join("\n")],
      ["stderr", run.ns.stderr()],
      ["responses", s.received.map(responseText).join("\n")]
    ]
    // The run did what it says: a token was issued and used, the log and stderr are full.
    expect(cp.oauth.issuedTokens).toHaveLength(1)
    expect(cp.cp.calls).toMatchObject([{ tokenValid: true }])
    expect(written[0]![1]).toContain("\"event\":\"register_rpc_ok\"")
    expect(run.ns.stderr()).toContain("\"event\":\"token_acquired\"")
    expect(run.ns.lines()).toContain("cmd-ran")

    const secrets = secretForms(cp)
    const leaks = written.flatMap(([where, text]) =>
      secrets.filter(([, secret]) => text.includes(secret)).map(([what]) => `${what} in ${where}`)
    )
    expect(leaks).toEqual([])
    console.log(
      `secrets: ${secrets.length} forms searched in ${logFiles.length} log file(s), stdout, stderr and ${s.received.length} responses (${
        written.reduce((n, [, text]) => n + text.length, 0)
      } characters)`
    )
  }, 120_000)
})
