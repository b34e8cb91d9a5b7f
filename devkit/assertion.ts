import type { CryptoKey, JWK } from "jose"
import { exportJWK, generateKeyPair, SignJWT } from "jose"
import { randomUUID } from "node:crypto"

/** The OAuth2 client the clawker CLI mints assertions for. */
export const AGENT_CLIENT_ID = "clawker-agent"

export interface AssertionSigner {
  readonly privateKey: CryptoKey
  /** The public half, as the OAuth2 server's client registration needs it. */
  readonly publicJwk: JWK
}

export const newAssertionSigner = async (): Promise<AssertionSigner> => {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true })
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), alg: "ES256", use: "sig", kid: "cli" } }
}

/**
 * A client assertion as the CLI mints it: iss = sub = client id, aud = the token endpoint URL,
 * a unique jti and a short expiry.
 */
export const mintAssertion = (
  signer: AssertionSigner,
  tokenEndpoint: string,
  options: { readonly expiresInSeconds?: number; readonly nowSeconds?: number } = {}
): Promise<string> => {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000)
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "cli", typ: "JWT" })
    .setIssuer(AGENT_CLIENT_ID)
    .setSubject(AGENT_CLIENT_ID)
    .setAudience(tokenEndpoint)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 300))
    .sign(signer.privateKey)
}
