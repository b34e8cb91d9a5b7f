import type * as net from "node:net"

/** Where a connection came from: `address` is ip:port for the log, `source` the ip the limits count by. */
export interface Remote {
  readonly address: string
  readonly source: string
}

const UNKNOWN: Remote = { address: "unknown:0", source: "unknown" }

const read = (socket: net.Socket): Remote | undefined =>
  socket.remoteAddress === undefined
    ? undefined
    : { address: `${socket.remoteAddress}:${socket.remotePort ?? 0}`, source: socket.remoteAddress }

/**
 * The accepted socket under a server-side TLS socket (Node's `_parent`, set for every one), or the
 * socket itself when it is the accepted one.
 */
export const acceptedOf = (socket: net.Socket): net.Socket => {
  const parent = (socket as { readonly _parent?: unknown })._parent
  return typeof parent === "object" && parent !== null ? parent as net.Socket : socket
}

/**
 * Remote addresses of accepted connections, read when they were accepted. A peer that hangs up
 * mid-handshake is reported once its socket is gone, when Node no longer knows the address; the
 * TLS socket it is reported on wraps the accepted one, so that is where the address is found.
 */
export const makeRemoteAddresses = () => {
  const known = new WeakMap<object, Remote>()
  const remoteOf = (socket: net.Socket): Remote =>
    read(socket) ?? known.get(socket) ?? known.get(acceptedOf(socket)) ?? UNKNOWN
  return {
    accepted: (socket: net.Socket): void => {
      const remote = read(socket)
      if (remote !== undefined) known.set(socket, remote)
    },
    remoteOf
  }
}
