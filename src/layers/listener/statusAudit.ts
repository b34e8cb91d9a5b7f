import * as grpc from "@grpc/grpc-js"

/** A call that ended with an error status, as the audit log names it. */
export interface FailedCall {
  /** The status name, e.g. RESOURCE_EXHAUSTED. */
  readonly code: string
  readonly details: string
  readonly remoteAddress: string
}

/**
 * Reports every call that ends with an error status. grpc-js ends some calls itself, inside its
 * transport, and tells only the client why: a Command over the size limit (RESOURCE_EXHAUSTED), a
 * compression it cannot undo, a malformed grpc-timeout. The Session handler then merely sees its
 * call cancelled. Those statuses go through the transport call's own `sendStatus`, which is the call
 * the first interceptor receives, so that is the method wrapped here; the handler's own statuses
 * pass through it too.
 */
export const statusAudit = (report: (failed: FailedCall) => void): grpc.ServerInterceptor => (_method, call) => {
  const send = call.sendStatus.bind(call)
  call.sendStatus = (status) => {
    if (status.code !== grpc.status.OK) {
      report({
        code: grpc.status[status.code] ?? String(status.code),
        details: status.details ?? "",
        remoteAddress: call.getPeer()
      })
    }
    send(status)
  }
  return new grpc.ServerInterceptingCall(call)
}
