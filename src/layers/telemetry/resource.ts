import { X509Certificate } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { BOOTSTRAP_FILES } from "../../lib/constants.js"

/**
 * `OTEL_RESOURCE_ATTRIBUTES` as the OpenTelemetry spec writes it: `key=value` pairs separated by commas,
 * values percent-encoded. A pair without `=` or with an undecodable value is skipped, never fatal.
 */
export const parseResourceAttributes = (text: string): Record<string, string> => {
  const attributes: Record<string, string> = {}
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=")
    if (at <= 0) continue
    try {
      attributes[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim())
    } catch {
      continue
    }
  }
  return attributes
}

const CONTAINER_URI = /URI:urn:clawker:container:([^,\s]+)/

/**
 * The container id the host CLI put in the agent certificate's URI SAN, if the certificate can be read.
 * Read on its own here: telemetry starts with the logger, before BootstrapStore, whose errors stay its own.
 */
export const containerIdOf = (bootstrapDir: string): string | undefined => {
  try {
    const cert = new X509Certificate(fs.readFileSync(path.join(bootstrapDir, BOOTSTRAP_FILES.cert)))
    return CONTAINER_URI.exec(cert.subjectAltName ?? "")?.[1]
  } catch {
    return undefined
  }
}
