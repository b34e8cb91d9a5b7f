import { createHash, timingSafeEqual } from "node:crypto"
import type { PeerCertificate, TLSSocket } from "node:tls"
import { CONTROL_PLANE_CN } from "../../lib/constants.js"
import type { PeerInfo } from "../../services/SessionHandler.js"
import { hasSingleCommonName } from "./subjectName.js"

const CLIENT_AUTH_EKU = "1.3.6.1.5.5.7.3.2"

/** Why a peer was turned away, as the rejected-peer event names it. */
export type RejectReason =
  | "no_cert"
  | "untrusted_ca"
  | "expired"
  | "not_yet_valid"
  | "eku"
  | "cn"
  | "protocol"
  | "handshake_aborted"
  | "handshake_timeout"

const digest = (text: string) => createHash("sha256").update(text).digest()

/** Constant-time: both sides are hashed first, so neither length nor content leaks through timing. */
const isControlPlaneCn = (cn: string): boolean => timingSafeEqual(digest(cn), digest(CONTROL_PLANE_CN))

const commonNameOf = (cert: PeerCertificate): string => {
  const cn = cert.subject?.CN as unknown
  return typeof cn === "string" ? cn : Array.isArray(cn) ? String(cn[0]) : ""
}

/** The audit identity of a call's peer; both fields "" when there is no TLS peer certificate. */
export const peerInfo = (cert: PeerCertificate | undefined, remoteAddress: string): PeerInfo => ({
  cn: cert?.raw === undefined ? "" : commonNameOf(cert),
  thumbprint: cert?.raw === undefined ? "" : createHash("sha256").update(cert.raw).digest("hex"),
  remoteAddress
})

/**
 * The pin: the Subject holds exactly one CN (a second CN attribute or a multi-valued RDN could make
 * two parsers disagree on which name is "the" CN) and it is the control plane's.
 */
const isPinned = (cert: PeerCertificate): boolean =>
  hasSingleCommonName(cert.raw) && isControlPlaneCn(commonNameOf(cert))

/** The per-call check, defence in depth behind the handshake's. */
export const isControlPlanePeer = (cert: PeerCertificate | undefined): boolean =>
  cert?.raw !== undefined && isPinned(cert)

/**
 * The whole authorization, once the handshake is done: a certificate, verified against the bootstrap
 * CA, with the clientAuth EKU and the CN pin (one CN, and that one the control plane's). undefined = the control plane.
 */
export const checkVerifiedPeer = (socket: TLSSocket): RejectReason | undefined => {
  const cert = socket.getPeerCertificate()
  if (cert === null || cert.raw === undefined) return "no_cert"
  if (!socket.authorized) return reasonOfVerifyError(String(socket.authorizationError ?? ""))
  if (!(cert.ext_key_usage ?? []).includes(CLIENT_AUTH_EKU)) return "eku"
  if (!isPinned(cert)) return "cn"
  return undefined
}

/** Node's verify error codes (socket.authorizationError) grouped into the reasons we log. */
export const reasonOfVerifyError = (code: string): RejectReason => {
  if (code === "CERT_HAS_EXPIRED") return "expired"
  if (code === "CERT_NOT_YET_VALID") return "not_yet_valid"
  if (code === "INVALID_PURPOSE") return "eku"
  // Every other verify error (unknown issuer, bad signature, self-signed, ...) means the chain does not lead to the CA.
  return "untrusted_ca"
}

/** A handshake that failed before Node could verify anything: the OpenSSL error says why. */
export const reasonOfHandshakeError = (socket: TLSSocket, error: NodeJS.ErrnoException): RejectReason => {
  if (socket.authorizationError) return reasonOfVerifyError(String(socket.authorizationError))
  if (error.code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") return "no_cert"
  if (error.code === "ERR_TLS_HANDSHAKE_TIMEOUT") return "handshake_timeout"
  if (error.code === "ECONNRESET" || error.code === "ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN") {
    return "handshake_aborted"
  }
  return "protocol"
}
