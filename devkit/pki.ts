import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { webcrypto } from "node:crypto"
import { CONTROL_PLANE_CN } from "../src/lib/constants.js"

/*
 * Throwaway certificate minting for the demo and the tests: a CA like the clawker CLI's, the
 * control plane's client and server certs, and agent leaves. ECDSA P-256 keeps minting fast.
 */

x509.cryptoProvider.set(webcrypto as never)

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const
const DAY = 24 * 3600 * 1000

export type Eku = "serverAuth" | "clientAuth"

export interface Issued {
  readonly certPem: string
  readonly keyPem: string
}

export interface Authority extends Issued {
  readonly cert: x509.X509Certificate
  readonly keys: webcrypto.CryptoKeyPair
}

export interface LeafOptions {
  readonly cn: string
  /** The whole Subject DN, RFC 4514 style, instead of `CN=<cn>`: e.g. to mint names the listener must refuse. */
  readonly subject?: string
  readonly eku?: ReadonlyArray<Eku>
  readonly dns?: ReadonlyArray<string>
  readonly ips?: ReadonlyArray<string>
  readonly uris?: ReadonlyArray<string>
  readonly notBefore?: Date
  readonly notAfter?: Date
}

let serial = 1
const nextSerial = () => (serial++).toString(16).padStart(8, "0")

const keyPem = async (key: webcrypto.CryptoKey): Promise<string> => {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key))
  const body = der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "")
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`
}

const newKeys = () => webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as Promise<webcrypto.CryptoKeyPair>

export const mintAuthority = async (cn = "clawker test CA"): Promise<Authority> => {
  const keys = await newKeys()
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${cn}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  return { cert, keys, certPem: cert.toString("pem") + "\n", keyPem: await keyPem(keys.privateKey) }
}

const EKU_OID: Record<Eku, string> = {
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth
}

export const mintLeaf = async (ca: Authority, options: LeafOptions): Promise<Issued> => {
  const keys = await newKeys()
  const now = Date.now()
  const names: Array<x509.JsonGeneralName> = [
    ...(options.dns ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ips ?? []).map((value) => ({ type: "ip" as const, value })),
    ...(options.uris ?? []).map((value) => ({ type: "url" as const, value }))
  ]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: options.subject ?? `CN=${options.cn}`,
    issuer: ca.cert.subject,
    notBefore: options.notBefore ?? new Date(now - DAY),
    notAfter: options.notAfter ?? new Date(now + 30 * DAY),
    signingKey: ca.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension((options.eku ?? ["serverAuth", "clientAuth"]).map((e) => EKU_OID[e])),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert)
    ]
  })
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyPem(keys.privateKey) }
}

/** The certificates of one clawker deployment: the CLI CA, the control plane, one agent container. */
export interface Deployment {
  readonly ca: Authority
  /** CP as a client of clawkerd's listener. */
  readonly cpClient: Issued
  /** CP (and Hydra) as a server clawkerd dials; server name clawker-controlplane. */
  readonly cpServer: Issued
  /** The agent leaf: bootstrap cert.pem/key.pem. */
  readonly agent: Issued
  readonly containerId: string
}

export const agentCommonName = (agent: string, project: string): string =>
  project === "" ? `clawker.${agent}` : `clawker.${project}.${agent}`

export const mintDeployment = async (
  agent = "dev",
  project = "demo",
  containerId = "0123456789ab"
): Promise<Deployment> => {
  const ca = await mintAuthority()
  return {
    ca,
    containerId,
    cpClient: await mintLeaf(ca, { cn: CONTROL_PLANE_CN, eku: ["clientAuth"] }),
    cpServer: await mintLeaf(ca, { cn: CONTROL_PLANE_CN, eku: ["serverAuth"], dns: [CONTROL_PLANE_CN] }),
    agent: await mintLeaf(ca, {
      cn: agentCommonName(agent, project),
      eku: ["serverAuth", "clientAuth"],
      uris: [`urn:clawker:container:${containerId}`]
    })
  }
}
