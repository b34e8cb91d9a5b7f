import { expect } from "vitest"
import * as C from "../../src/programs/cp/commands.js"
import { outputOf } from "../../src/programs/cp/cpClient.js"
import { TESTER } from "./accounts.js"
import type { DaemonRun } from "./daemonInNamespace.js"

/**
 * What the platform's agent images set with ENV for their agent (CONTAINERS.md: the bundler's golden
 * Dockerfiles), and what a Node agent sets for itself: clawkerd's environment, to be passed on whole.
 */
export const IMAGE_ENV: Readonly<Record<string, string>> = {
  UV_PYTHON_INSTALL_DIR: "/usr/local/share/uv/python",
  NODE_OPTIONS: "--max-old-space-size=1024",
  NODE_ENV: "production",
  NODE_USE_SYSTEM_CA: "1",
  SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
  OTEL_METRICS_EXPORTER: "otlp",
  OTEL_LOGS_EXPORTER: "otlp",
  OTEL_TRACES_EXPORTER: "otlp",
  CLAUDE_CODE_ENABLE_TELEMETRY: "1"
}

/** A shell line printing `<tag> NAME=value` for each of IMAGE_ENV's names and every CLAWKERD_ one it has. */
export const printImageEnv = (tag: string): string =>
  `env | grep -E '^(${Object.keys(IMAGE_ENV).join("|")}|CLAWKERD_[A-Z_]*)=' | sed 's/^/${tag} /'`

/** What printImageEnv prints when the environment was passed on: IMAGE_ENV exactly, nothing of clawkerd's. */
export const imageEnvLines = (tag: string): Array<string> =>
  Object.entries(IMAGE_ENV).map(([name, value]) => `${tag} ${name}=${value}`).sort()

/** The user CMD that prints what it got, then waits for a line on stdin and exits 0. */
export const imageEnvCmd: ReadonlyArray<string> = ["sh", "-c", `${printImageEnv("cmd")}; echo cmd-env-done; read go`]

const tagged = (text: string, tag: string) => text.split("\n").filter((line) => line.startsWith(`${tag} `)).sort()

/**
 * A daemon started with IMAGE_ENV (and its CLAWKERD_ settings) and imageEnvCmd: a stage as root, a stage
 * as the agent user with the CP's env map, and the user CMD each get IMAGE_ENV exactly, nothing of clawkerd's.
 */
export const expectImageEnvPassedOn = async (d: DaemonRun) => {
  const s = await d.session()
  s.send(C.sh("env-root", printImageEnv("stage")))
  expect(tagged(outputOf(await s.collectUntilTerminal("env-root")).toString(), "stage")).toEqual(imageEnvLines("stage"))
  s.send(C.shell("env-user", [
    C.stage(["sh", "-c", printImageEnv("stage")], {
      uid: TESTER.uid,
      gid: TESTER.gid,
      env: { HOME: "/home/tester", USER: TESTER.name }
    })
  ]))
  expect(tagged(outputOf(await s.collectUntilTerminal("env-user")).toString(), "stage")).toEqual(imageEnvLines("stage"))
  expect((await s.request(C.agentReady("ready"))).payload?.$case).toBe("done")
  await d.ns.line(/^cmd-env-done$/)
  expect(tagged(d.ns.lines().join("\n"), "cmd")).toEqual(imageEnvLines("cmd"))
  d.ns.write("go\n")
  expect((await d.ns.exited).code).toBe(0)
}
