import { Clock, Effect, FileSystem, Layer, Option, Redacted } from "effect"
import type { PlatformError } from "effect"
import { decodeJwt, decodeProtectedHeader } from "jose"
import { createPrivateKey } from "node:crypto"
import * as path from "node:path"
import { BOOTSTRAP_FILES } from "../../lib/constants.js"
import { errorMessage } from "../../lib/errorText.js"
import * as Log from "../../lib/log.js"
import type { BootstrapMaterial } from "../../services/BootstrapStore.js"
import { BootstrapError, BootstrapStore } from "../../services/BootstrapStore.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { parseCertificates } from "./pem.js"

const describeFsError = (e: PlatformError.PlatformError): string => {
  if (e.reason._tag === "NotFound") return "does not exist"
  if (e.reason._tag === "PermissionDenied") return "cannot be read: permission denied"
  return `cannot be read: ${e.reason.description ?? e.message}`
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`

/** Public material (the certificates, the directory): group or world access is worth a warning only. */
const warnIfLoose = (file: string, p: string, mode: number) =>
  (mode & 0o077) === 0 ? Effect.void : Log.warn("bootstrap_permissions_loose", { file, path: p, mode: octal(mode) })

/** The secrets: like ssh with a private key, any access by another user refuses them outright. */
const SECRET_FILES: ReadonlySet<string> = new Set([BOOTSTRAP_FILES.key, BOOTSTRAP_FILES.assertion])

/**
 * Why another user could read or replace a secret file, or undefined. "Another user" is anyone but
 * clawkerd's own (root in the image): the group and other bits, and an owner that is someone else.
 */
const secretExposure = (stat: { readonly mode: number; readonly uid: number }): string | undefined => {
  const self = process.geteuid?.() ?? 0
  if (stat.uid !== self) return `is owned by uid ${stat.uid}, not by clawkerd's uid ${self} (mode ${octal(stat.mode)})`
  if ((stat.mode & 0o077) !== 0) {
    return `has mode ${octal(stat.mode)}: readable or writable by others than its owner (expected 0400 or 0600)`
  }
  return undefined
}

const readFile = (fs: FileSystem.FileSystem, dir: string, file: string): Effect.Effect<string, BootstrapError> => {
  const p = path.join(dir, file)
  const failed = (e: PlatformError.PlatformError) => new BootstrapError({ file, path: p, problem: describeFsError(e) })
  return Effect.scoped(Effect.gen(function*() {
    // One open: the mode checked is the mode of what is read.
    const handle = yield* Effect.mapError(fs.open(p, { flag: "r" }), failed)
    const stat = yield* Effect.mapError(handle.stat, failed)
    if (stat.type !== "File") return yield* new BootstrapError({ file, path: p, problem: "is a directory, not a file" })
    if (SECRET_FILES.has(file)) {
      const exposure = secretExposure({ mode: stat.mode, uid: Option.getOrElse(stat.uid, () => -1) })
      if (exposure !== undefined) return yield* new BootstrapError({ file, path: p, problem: exposure })
    } else {
      yield* warnIfLoose(file, p, stat.mode)
    }
    const bytes = yield* Effect.mapError(handle.readAlloc(Number(stat.size)), failed)
    const text = Option.match(bytes, { onNone: () => "", onSome: (b) => Buffer.from(b).toString("utf8") })
    if (text.trim() === "") return yield* new BootstrapError({ file, path: p, problem: "is empty" })
    return text
  }))
}

const invalid = (dir: string, file: string, problem: string) =>
  new BootstrapError({ file, path: path.join(dir, file), problem })

const parse = <A>(dir: string, file: string, what: string, f: () => A): Effect.Effect<A, BootstrapError> =>
  Effect.try({
    try: f,
    catch: (e) => invalid(dir, file, `${what}: ${errorMessage(e)}`)
  })

/**
 * Reads and validates the bootstrap directory once. Nothing secret is ever put into an error:
 * the messages name the file and the reason only.
 */
export const loadBootstrap = (dir: string): Effect.Effect<BootstrapMaterial, BootstrapError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dirStat = yield* Effect.mapError(
      fs.stat(dir),
      (e) => new BootstrapError({ file: "directory", path: dir, problem: describeFsError(e) })
    )
    if (dirStat.type !== "Directory") {
      return yield* new BootstrapError({ file: "directory", path: dir, problem: "is not a directory" })
    }
    yield* warnIfLoose("directory", dir, dirStat.mode)

    const { assertion: assertionFile, ca: caFile, cert: certFile, key: keyFile } = BOOTSTRAP_FILES
    const certPem = yield* readFile(fs, dir, certFile)
    const keyPem = yield* readFile(fs, dir, keyFile)
    const caPem = yield* readFile(fs, dir, caFile)
    const assertion = (yield* readFile(fs, dir, assertionFile)).trim()

    const certs = yield* parse(dir, certFile, "not a PEM certificate", () => parseCertificates(certPem))
    const leaf = certs[0]
    if (leaf === undefined) return yield* invalid(dir, certFile, "holds no PEM certificate block")
    const key = yield* parse(dir, keyFile, "not a PEM private key", () => createPrivateKey(keyPem))
    if (!leaf.checkPrivateKey(key)) {
      return yield* invalid(dir, keyFile, `does not match the certificate in ${certFile}`)
    }
    const caCerts = yield* parse(dir, caFile, "not a PEM certificate", () => parseCertificates(caPem))
    if (caCerts.length === 0) return yield* invalid(dir, caFile, "holds no PEM certificate block")

    yield* parse(dir, assertionFile, "not a compact JWT", () => decodeProtectedHeader(assertion))
    const assertionClaims = yield* parse(dir, assertionFile, "not a compact JWT", () => decodeJwt(assertion))

    if (!caCerts.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) {
      yield* Log.warn("bootstrap_leaf_not_issued_by_ca", { path: path.join(dir, certFile) })
    }
    if (Date.parse(leaf.validTo) < (yield* Clock.currentTimeMillis)) {
      yield* Log.warn("bootstrap_leaf_expired", { valid_to: leaf.validTo })
    }
    yield* Log.info("bootstrap_loaded", { dir, leaf_subject: leaf.subject.replace(/\n/g, ",") })
    return {
      certPem,
      keyPem: Redacted.make(keyPem),
      caPem,
      assertion: Redacted.make(assertion),
      leaf,
      caCerts,
      assertionClaims
    }
  })

/** For sibling daemons: a BootstrapStore read from a directory of their choosing. */
export const BootstrapStoreFromDir = (
  dir: string
): Layer.Layer<BootstrapStore, BootstrapError, FileSystem.FileSystem> =>
  Layer.effect(BootstrapStore, loadBootstrap(dir))

export const BootstrapStoreLive: Layer.Layer<
  BootstrapStore,
  BootstrapError,
  DaemonConfig | FileSystem.FileSystem
> = Layer.effect(
  BootstrapStore,
  Effect.flatMap(DaemonConfig, (config) => loadBootstrap(config.bootstrapDir))
)
