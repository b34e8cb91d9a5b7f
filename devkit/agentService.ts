import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js"
import { Server, ServerCredentials, status } from "@grpc/grpc-js"
import { createHash, X509Certificate } from "node:crypto"
import type { RegisterRequest, Welcome } from "../src/gen/clawker/agent/v1/agent.js"
import { AgentServiceService } from "../src/gen/clawker/agent/v1/agent.js"
import { errorMessage } from "../src/lib/errorText.js"
import type { Deployment, Issued } from "./pki.js"

/*
 * The control plane's side of Register, for the demo and the tests: AgentService on mTLS
 * (client certificate required, issued by the deployment CA), recording who called with what.
 * The CP identifies the container by the peer certificate's URI SAN and pins its thumbprint.
 */

export type RegisterAnswer = "welcome" | "permission_denied"

/** One Register call as the CP saw it. */
export interface RegisterCall {
  /** SHA-256 of the peer certificate's DER, lowercase hex. */
  readonly thumbprint: string | undefined
  /** The `urn:clawker:container:<id>` URI SAN of the peer certificate. */
  readonly uriSan: string | undefined
  readonly agentName: string
  readonly project: string
  /** The bearer token passed the token check. */
  readonly tokenValid: boolean
  readonly answered: "welcome" | "permission_denied" | "unauthenticated"
}

export interface AgentServiceOptions {
  readonly deployment: Deployment
  /** Decides whether a bearer token is good (e.g. the OAuth2 server's verifyAccessToken). */
  readonly verifyToken: (token: string) => Promise<boolean>
  readonly answer?: RegisterAnswer
  /** Defaults to the deployment's CP server certificate. */
  readonly serverCert?: Issued
  readonly port?: number
}

export interface AgentServiceHandle {
  /** host:port, what CLAWKER_CP_AGENT_ADDR points at. */
  readonly address: string
  readonly port: number
  readonly calls: ReadonlyArray<RegisterCall>
  setAnswer(answer: RegisterAnswer): void
  close(): Promise<void>
}

/** SHA-256 of a PEM certificate's DER, lowercase hex: what the CP records as the agent's thumbprint. */
export const certThumbprint = (certPem: string): string =>
  createHash("sha256").update(new X509Certificate(certPem).raw).digest("hex")

const uriSanOf = (subjectAltName: string | undefined): string | undefined =>
  subjectAltName?.split(", ").find((name) => name.startsWith("URI:"))?.slice("URI:".length)

const bearerOf = (call: ServerUnaryCall<RegisterRequest, Welcome>): string | undefined => {
  const [value] = call.metadata.get("authorization")
  const match = typeof value === "string" ? /^Bearer (.+)$/.exec(value) : null
  return match?.[1]
}

export const startAgentService = async (options: AgentServiceOptions): Promise<AgentServiceHandle> => {
  const calls: Array<RegisterCall> = []
  let answer: RegisterAnswer = options.answer ?? "welcome"

  const register = async (call: ServerUnaryCall<RegisterRequest, Welcome>, callback: sendUnaryData<Welcome>) => {
    const peer = call.getAuthContext().sslPeerCertificate
    const token = bearerOf(call)
    const tokenValid = token !== undefined && (await options.verifyToken(token))
    const answered = tokenValid ? answer : "unauthenticated"
    calls.push({
      thumbprint: peer?.raw === undefined ? undefined : createHash("sha256").update(peer.raw).digest("hex"),
      uriSan: uriSanOf(peer?.subjectaltname),
      agentName: call.request.agentName,
      project: call.request.project,
      tokenValid,
      answered
    })
    if (answered === "welcome") callback(null, {})
    else if (answered === "permission_denied") {
      callback({ code: status.PERMISSION_DENIED, details: "agent is not allowed to register" })
    } else callback({ code: status.UNAUTHENTICATED, details: "bearer token missing or invalid" })
  }

  const server = new Server()
  server.addService(AgentServiceService, {
    register: (call: ServerUnaryCall<RegisterRequest, Welcome>, callback: sendUnaryData<Welcome>) => {
      register(call, callback).catch((e: unknown) => callback({ code: status.INTERNAL, details: errorMessage(e) }))
    }
  })
  const cert = options.serverCert ?? options.deployment.cpServer
  const credentials = ServerCredentials.createSsl(
    Buffer.from(options.deployment.ca.certPem),
    [{ cert_chain: Buffer.from(cert.certPem), private_key: Buffer.from(cert.keyPem) }],
    true
  )
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, credentials, (error, bound) => {
      if (error === null) resolve(bound)
      else reject(error)
    })
  )
  return {
    address: `127.0.0.1:${port}`,
    port,
    calls,
    setAnswer: (next) => {
      answer = next
    },
    close: async () => server.forceShutdown()
  }
}
