import * as grpc from "@grpc/grpc-js"
import type { Command, Response } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { ClawkerdServiceClient, ClawkerdServiceService } from "../../gen/clawker/clawkerd/v1/clawkerd.js"
import { decodeResponse } from "../../wire/responseFrame.js"

/** The control plane's side of a Session: what an operator tool, the demo and the tests speak. */

export interface ClientCredentials {
  readonly caPem: string
  readonly certPem: string
  readonly keyPem: string
}

export interface ConnectOptions {
  /** When set, the agent leaf's CN must equal it; otherwise any leaf chained to the CA is accepted. */
  readonly agentCn?: string
  /**
   * HTTP/2 receive window (bytes) for the connection and each stream. Unset: Node's 64 KiB, which
   * lets clawkerd send two OutputChunks per window update; grpc-go, the real CP, grows its window
   * with the measured bandwidth-delay product up to 16 MiB.
   */
  readonly receiveWindow?: number
}

/** The generated client with clawker's own response deserializer: OutputChunk data read in place, not copied. */
const ViewingClient = grpc.makeGenericClientConstructor(
  { session: { ...ClawkerdServiceService.session, responseDeserialize: decodeResponse } },
  ClawkerdServiceClient.serviceName
) as unknown as typeof ClawkerdServiceClient

/** A ClawkerdService client over mTLS. Agent leaves carry no DNS name; identity is the chain (and CN). */
export const connect = (address: string, credentials: ClientCredentials, options: ConnectOptions = {}) =>
  new ViewingClient(
    address,
    grpc.credentials.createSsl(
      Buffer.from(credentials.caPem),
      Buffer.from(credentials.keyPem),
      Buffer.from(credentials.certPem),
      {
        checkServerIdentity: (_host, cert) =>
          options.agentCn === undefined || cert.subject.CN === options.agentCn
            ? undefined
            : new Error(`agent CN ${String(cert.subject.CN)} is not ${options.agentCn}`)
      }
    ),
    {
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      // Agents are dialled by IP; SNI must be a name (RFC 6066), and the identity check above ignores it.
      "grpc.ssl_target_name_override": options.agentCn ?? "clawkerd",
      ...(options.receiveWindow === undefined ? {} : { "grpc-node.flow_control_window": options.receiveWindow })
    }
  )

const TERMINAL = new Set(["done", "error", "registerDone", "helloAck"])

/** How a Session stream ended. */
export interface SessionEnd {
  readonly code: grpc.status
  readonly details: string
}

/**
 * One Session: send Commands, read Responses per command_id (replies of different commands
 * interleave; each id has its own mailbox, so reading one never loses another's).
 */
export class CpSession {
  private readonly mailboxes = new Map<string, Array<Response>>()
  private readonly waiters = new Map<string, Array<() => void>>()
  private endedWith: SessionEnd | undefined
  /** Every Response in arrival order, for tests that check ordering across ids. */
  readonly received: Array<Response> = []
  readonly ended: Promise<SessionEnd>

  constructor(readonly call: grpc.ClientDuplexStream<Command, Response>) {
    call.on("data", (response: Response) => {
      this.received.push(response)
      const box = this.mailboxes.get(response.commandId) ?? []
      box.push(response)
      this.mailboxes.set(response.commandId, box)
      this.wake(response.commandId)
    })
    this.ended = new Promise((resolve) => {
      const finish = (end: SessionEnd) => {
        if (this.endedWith !== undefined) return
        this.endedWith = end
        for (const id of [...this.waiters.keys()]) this.wake(id)
        resolve(end)
      }
      call.on("status", (s: grpc.StatusObject) => finish({ code: s.code, details: s.details }))
      call.on(
        "error",
        (e: grpc.ServiceError) => finish({ code: e.code ?? grpc.status.UNKNOWN, details: e.details ?? e.message })
      )
    })
  }

  /** `metadata`: what the CP sends with the call (e.g. its W3C `traceparent`). */
  static open(client: ClawkerdServiceClient, metadata?: grpc.Metadata): CpSession {
    return new CpSession(metadata === undefined ? client.session() : client.session(metadata))
  }

  private wake(id: string) {
    const waiting = this.waiters.get(id) ?? []
    this.waiters.delete(id)
    for (const w of waiting) w()
  }

  /** False when the stream's buffer is full: wait for the call's "drain" before sending more. */
  send(command: Command): boolean {
    return this.call.write(command)
  }

  /** The next Response for `commandId`; rejects when the Session ends first or after `timeoutMs`. */
  async next(commandId: string, timeoutMs = 30_000): Promise<Response> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const box = this.mailboxes.get(commandId)
      const first = box?.shift()
      if (first !== undefined) return first
      if (this.endedWith !== undefined) {
        throw new Error(
          `session ended (${this.endedWith.code} ${this.endedWith.details}) before a reply to "${commandId}"`
        )
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no reply to "${commandId}" within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        const list = this.waiters.get(commandId) ?? []
        list.push(() => {
          clearTimeout(timer)
          resolve()
        })
        this.waiters.set(commandId, list)
      })
    }
  }

  /** Sends `command` and returns its single reply (Hello, AgentInitialized, AgentReady, RegisterRequired). */
  async request(command: Command, timeoutMs?: number): Promise<Response> {
    this.send(command)
    return this.next(command.commandId, timeoutMs)
  }

  /** Every reply for `commandId` up to and including the first Done, Error, RegisterDone or HelloAck. */
  async collectUntilTerminal(commandId: string, timeoutMs?: number): Promise<Array<Response>> {
    const out: Array<Response> = []
    for (;;) {
      const response = await this.next(commandId, timeoutMs)
      out.push(response)
      if (TERMINAL.has(response.payload?.$case ?? "")) return out
    }
  }

  /** Replies already received for `commandId` and not yet read. */
  pending(commandId: string): ReadonlyArray<Response> {
    return this.mailboxes.get(commandId) ?? []
  }

  /** Half-close: no more Commands; clawkerd flushes its replies and ends the stream. */
  close(): void {
    this.call.end()
  }

  cancel(): void {
    this.call.cancel()
  }
}

/** The merged output of a ShellCommand's replies. */
export const outputOf = (responses: ReadonlyArray<Response>): Buffer =>
  Buffer.concat(responses.flatMap((r) => (r.payload?.$case === "output" ? [r.payload.value.data] : [])))
