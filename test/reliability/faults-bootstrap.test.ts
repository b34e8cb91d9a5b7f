import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { readLogEvents } from "../../devkit/daemonLog.js"
import { runBin } from "../support/daemon.js"
import type { BootstrapFixture } from "../support/fixtures.js"
import { bootstrapFixture, tempDir } from "../support/fixtures.js"
import { inBatches } from "./support/hostile.js"

/*
 * Broken bootstrap material at the daemon level: the built entry point, not the store on its own
 * (test/unit/bootstrap.test.ts has the store's messages; test/integration/bin-config.test.ts the
 * missing directory and a foreign key). Every file missing, empty, garbled, cut short or replaced by
 * a directory: exit 2, one stderr line naming the file and the problem, a bootstrap_read_failed event, and
 * no secret on stderr or in the log.
 */

type Change = { readonly kind: "remove" } | { readonly kind: "write"; readonly text: string } | {
  readonly kind: "directory"
}

interface Variant {
  readonly name: string
  readonly file: "cert.pem" | "key.pem" | "ca.pem" | "assertion.jwt"
  readonly change: (fx: BootstrapFixture) => Change
  readonly problem: RegExp
}

const FILES = ["cert.pem", "key.pem", "ca.pem", "assertion.jwt"] as const
const GARBLED: Record<Variant["file"], [string, RegExp]> = {
  "cert.pem": ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", /not a PEM certificate/],
  "key.pem": ["-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", /not a PEM private key/],
  "ca.pem": ["ca", /no PEM certificate block/],
  "assertion.jwt": ["eyJ.not-a-jwt", /not a compact JWT/]
}

/** Every file at least twice, every kind of problem at least once; the store's unit tests have every pair. */
const variants: ReadonlyArray<Variant> = [
  ...(["cert.pem", "key.pem"] as const).map((file): Variant => ({
    name: `${file} missing`,
    file,
    change: () => ({ kind: "remove" }),
    problem: /^does not exist$/
  })),
  ...(["ca.pem", "assertion.jwt"] as const).map((file): Variant => ({
    name: `${file} empty`,
    file,
    change: () => ({ kind: "write", text: "\n" }),
    problem: /^is empty$/
  })),
  ...FILES.map((file): Variant => ({
    name: `${file} garbled`,
    file,
    change: () => ({ kind: "write", text: GARBLED[file][0] }),
    problem: GARBLED[file][1]
  })),
  {
    name: "key.pem cut in half",
    file: "key.pem",
    change: (fx) => ({ kind: "write", text: fx.deployment.agent.keyPem.slice(0, 120) }),
    problem: /not a PEM private key/
  },
  {
    name: "key.pem a directory",
    file: "key.pem",
    change: () => ({ kind: "directory" }),
    problem: /^is a directory, not a file$/
  }
]

/** A copy of the fixture's bootstrap directory with one change. */
const variantDir = async (fx: BootstrapFixture, file: string, change: Change) => {
  const dir = path.join(await tempDir("clawkerd-bootstrap-"), "bootstrap")
  fs.cpSync(fx.dir, dir, { recursive: true })
  const target = path.join(dir, file)
  fs.rmSync(target, { force: true })
  if (change.kind === "write") fs.writeFileSync(target, change.text, { mode: 0o400 })
  if (change.kind === "directory") fs.mkdirSync(target)
  return dir
}

let fx: BootstrapFixture
beforeAll(async () => {
  fx = await bootstrapFixture()
})

describe("broken bootstrap files stop the daemon with exit 2 and a precise line", () => {
  it(`${variants.length} broken variants, each named, none leaking a secret`, async () => {
    const secrets = [...fx.deployment.agent.keyPem.split("\n").slice(1, -2), fx.assertion, fx.assertion.split(".")[2]!]
    const results = await inBatches(
      4,
      variants.map((v) => async () => {
        const dir = await variantDir(fx, v.file, v.change(fx))
        const logDir = await tempDir("clawkerd-bootstrap-log-")
        const run = await runBin({
          CLAWKER_AGENT: "dev",
          CLAWKER_USER: "root",
          CLAWKERD_LOG_DIR: logDir,
          CLAWKERD_BOOTSTRAP_DIR: dir
        })
        return { v, dir, run, log: readLogEvents(path.join(logDir, "clawkerd.log")) }
      })
    )
    for (const { dir, log, run, v } of results) {
      const prefix = `clawkerd: configuration error: bootstrap ${v.file} (${path.join(dir, v.file)}): `
      const lines = run.stderr.trim().split("\n")
      expect({ name: v.name, code: run.code, lines: lines.length }).toEqual({ name: v.name, code: 2, lines: 1 })
      expect(lines[0]!.startsWith(prefix), `${v.name}: ${lines[0]}`).toBe(true)
      expect(lines[0]!.slice(prefix.length), v.name).toMatch(v.problem)
      expect(log.filter((e) => e.event === "bootstrap_read_failed"), v.name).toMatchObject([{ file: v.file }])
      expect(log.map((e) => e.event), v.name).not.toContain("clawkerd_listener_started")
      const written = [run.stderr, run.stdout, JSON.stringify(log)].join("\n")
      for (const secret of secrets) expect(written.includes(secret), `${v.name} leaks a secret`).toBe(false)
    }
  }, 120_000)
})
