import { X509Certificate } from "node:crypto"

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** Every certificate of a PEM bundle, in order; throws when a block does not parse. */
export const parseCertificates = (pem: string): Array<X509Certificate> =>
  (pem.match(CERT_BLOCK) ?? []).map((block) => new X509Certificate(block))

/** The Subject CN of a certificate, or "" when it has none. */
export const commonName = (cert: X509Certificate): string => {
  for (const line of cert.subject.split("\n")) {
    if (line.startsWith("CN=")) return line.slice(3)
  }
  return ""
}
