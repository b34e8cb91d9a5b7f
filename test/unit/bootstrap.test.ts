import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Result } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { mintLeaf } from "../../devkit/pki.js"
import { loadBootstrap } from "../../src/layers/bootstrap/BootstrapStoreLive.js"
import { bootstrapFixture } from "../support/fixtures.js"
import { captureLogs } from "../support/logs.js"

type Fixture = Awaited<ReturnType<typeof bootstrapFixture>>
let fx: Fixture

beforeAll(async () => {
  fx = await bootstrapFixture()
})

/** A copy of the good directory with one file replaced (or removed when content is null). */
const variant = async (file: string, content: string | null) => {
  const dir = path.join(fx.root, `variant-${Math.random().toString(36).slice(2)}`)
  await fs.cp(fx.dir, dir, { recursive: true })
  await fs.chmod(path.join(dir, file), 0o600).catch(() => undefined)
  if (content === null) await fs.rm(path.join(dir, file))
  else await fs.writeFile(path.join(dir, file), content)
  return dir
}

const loadEither = (dir: string) => {
  const logs = captureLogs()
  return loadBootstrap(dir).pipe(
    Effect.provide(NodeFileSystem.layer),
    Effect.result,
    Effect.provide(logs.layer),
    Effect.map((r) => ({ r, logs }))
  )
}

describe("BootstrapStore", () => {
  it.effect("loads a valid directory; key and assertion are Redacted", () =>
    Effect.gen(function*() {
      const { logs, r } = yield* loadEither(fx.dir)
      const material = Result.getOrThrow(r)
      expect(material.leaf.subject).toContain("CN=clawker.demo.dev")
      expect(material.caCerts).toHaveLength(1)
      expect(Redacted.value(material.keyPem)).toBe(fx.deployment.agent.keyPem)
      expect(Redacted.value(material.assertion)).toBe(fx.assertion)
      expect(String(material.keyPem)).not.toContain("PRIVATE KEY")
      expect(JSON.stringify(material.assertion)).not.toContain(fx.assertion.slice(0, 20))
      expect(material.assertionClaims.iss).toBe("clawker-agent")
      expect(logs.events("bootstrap_permissions_loose")).toHaveLength(0)
      expect(logs.events("bootstrap_loaded")).toHaveLength(1)
    }))

  const broken: Array<[string, string, string | null, RegExp]> = [
    ["missing cert", "cert.pem", null, /cert\.pem .*does not exist/],
    ["missing key", "key.pem", null, /key\.pem .*does not exist/],
    ["missing ca", "ca.pem", null, /ca\.pem .*does not exist/],
    ["missing assertion", "assertion.jwt", null, /assertion\.jwt .*does not exist/],
    ["empty cert", "cert.pem", "", /cert\.pem .*is empty/],
    ["blank assertion", "assertion.jwt", "  \n", /assertion\.jwt .*is empty/],
    [
      "garbled cert",
      "cert.pem",
      "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
      /cert\.pem .*not a PEM certificate/
    ],
    ["cert without PEM block", "cert.pem", "hello", /cert\.pem .*no PEM certificate block/],
    ["garbled key", "key.pem", "not a key", /key\.pem .*not a PEM private key/],
    ["garbled ca", "ca.pem", "zzz", /ca\.pem .*no PEM certificate block/],
    ["assertion not a JWT", "assertion.jwt", "abc.def", /assertion\.jwt .*not a compact JWT/]
  ]
  for (const [name, file, content, message] of broken) {
    it.effect(`${name} is a BootstrapError naming the file`, () =>
      Effect.gen(function*() {
        const dir = yield* Effect.promise(() => variant(file, content))
        const { r } = yield* loadEither(dir)
        expect(Result.isFailure(r)).toBe(true)
        if (Result.isFailure(r)) {
          expect(r.failure._tag).toBe("BootstrapError")
          expect(r.failure.file).toBe(file)
          expect(r.failure.message).toMatch(message)
        }
      }))
  }

  it.effect("a key from another certificate is refused", () =>
    Effect.gen(function*() {
      const other = yield* Effect.promise(() => mintLeaf(fx.deployment.ca, { cn: "other" }))
      const dir = yield* Effect.promise(() => variant("key.pem", other.keyPem))
      const { r } = yield* loadEither(dir)
      expect(Result.isFailure(r) && r.failure.message).toMatch(/key\.pem.*does not match the certificate in cert\.pem/)
    }))

  it.effect("a missing directory is named", () =>
    Effect.gen(function*() {
      const { r } = yield* loadEither(path.join(fx.root, "nope"))
      expect(Result.isFailure(r) && r.failure.message).toMatch(/bootstrap directory .*nope.*does not exist/)
    }))

  it.effect("a group/world-readable certificate or directory is warned about, not refused", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => variant("ca.pem", fx.deployment.ca.certPem))
      yield* Effect.promise(() => fs.chmod(path.join(dir, "cert.pem"), 0o644))
      yield* Effect.promise(() => fs.chmod(dir, 0o755))
      const { logs, r } = yield* loadEither(dir)
      expect(Result.isSuccess(r)).toBe(true)
      const warned = logs.events("bootstrap_permissions_loose").map((e) => [e.file, e.mode])
      expect(warned).toContainEqual(["directory", "0755"])
      expect(warned).toContainEqual(["cert.pem", "0644"])
      expect(warned.map(([file]) => file)).not.toContain("ca.pem")
    }))

  const exposed: Array<[string, number, number, RegExp]> = [
    ["key.pem", 0o644, 0, /key\.pem .*has mode 0644/],
    ["key.pem", 0o640, 0, /key\.pem .*has mode 0640/],
    ["key.pem", 0o602, 0, /key\.pem .*has mode 0602/],
    ["assertion.jwt", 0o444, 0, /assertion\.jwt .*has mode 0444/],
    ["assertion.jwt", 0o620, 0, /assertion\.jwt .*has mode 0620/],
    ["key.pem", 0o400, 1000, /key\.pem .*is owned by uid 1000, not by clawkerd's uid 0 \(mode 0400\)/]
  ]
  for (const [file, mode, uid, message] of exposed) {
    it.effect(`${file} with mode 0${mode.toString(8)} owned by uid ${uid} is refused, naming the file and mode`, () =>
      Effect.gen(function*() {
        const dir = yield* Effect.promise(() => variant("ca.pem", fx.deployment.ca.certPem))
        yield* Effect.promise(() => fs.chown(path.join(dir, file), uid, 0))
        yield* Effect.promise(() => fs.chmod(path.join(dir, file), mode))
        const { r } = yield* loadEither(dir)
        expect(Result.isFailure(r) && r.failure).toMatchObject({ _tag: "BootstrapError", file })
        expect(Result.isFailure(r) && r.failure.message).toMatch(message)
      }))
  }

  it.effect("key.pem and assertion.jwt at 0600 (the owner may write) are accepted", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => variant("ca.pem", fx.deployment.ca.certPem))
      for (const file of ["key.pem", "assertion.jwt"]) {
        yield* Effect.promise(() => fs.chmod(path.join(dir, file), 0o600))
      }
      const { logs, r } = yield* loadEither(dir)
      expect(Result.isSuccess(r)).toBe(true)
      expect(logs.events("bootstrap_permissions_loose")).toHaveLength(0)
    }))

  it.effect("a leaf from another CA is loaded with a warning", () =>
    Effect.gen(function*() {
      const other = yield* Effect.promise(() => bootstrapFixture())
      const dir = yield* Effect.promise(() => variant("ca.pem", other.deployment.ca.certPem))
      const { logs, r } = yield* loadEither(dir)
      expect(Result.isSuccess(r)).toBe(true)
      expect(logs.events("bootstrap_leaf_not_issued_by_ca")).toHaveLength(1)
    }))

  it.effect("no log line or error ever carries the key or the assertion", () =>
    Effect.gen(function*() {
      const secrets = [fx.deployment.agent.keyPem.split("\n")[1]!, fx.assertion.split(".")[2]!]
      const lines: Array<string> = []
      for (
        const [file, content] of [["key.pem", "garbage"], ["cert.pem", "garbage"], ["assertion.jwt", "x.y"]] as const
      ) {
        const dir = yield* Effect.promise(() => variant(file, content))
        const { logs, r } = yield* loadEither(dir)
        lines.push(...logs.lines, Result.isFailure(r) ? r.failure.message : "")
      }
      const { logs } = yield* loadEither(fx.dir)
      lines.push(...logs.lines)
      for (const secret of secrets) expect(lines.join("\n")).not.toContain(secret)
    }))
})
