import type * as net from "node:net"

const format = (socket: net.Socket): string | undefined =>
  socket.remoteAddress === undefined ? undefined : `${socket.remoteAddress}:${socket.remotePort ?? 0}`

/**
 * Remote addresses of accepted connections, read when they were accepted. A peer that hangs up
 * mid-handshake is reported once its socket is gone, when Node no longer knows the address; the
 * TLS socket it is reported on wraps the accepted one (Node's `_parent`, set for every server-side
 * TLSSocket), so that is where the address is found.
 */
export const makeRemoteAddresses = () => {
  const known = new WeakMap<object, string>()
  return {
    accepted: (socket: net.Socket): void => {
      const address = format(socket)
      if (address !== undefined) known.set(socket, address)
    },
    of: (socket: net.Socket): string => {
      const parent = (socket as { readonly _parent?: unknown })._parent
      return format(socket) ?? known.get(socket) ??
        (typeof parent === "object" && parent !== null ? known.get(parent) : undefined) ?? "unknown:0"
    }
  }
}
