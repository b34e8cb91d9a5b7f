import { Result } from "effect"

/** A listen or dial address. */
export interface HostPort {
  readonly host: string
  readonly port: number
}

/**
 * Parses `host:port`, `[v6]:port` or `:port` (all interfaces). Port 0 is accepted so tests
 * can bind an ephemeral port; the bound port is always logged.
 */
export const parseHostPort = (text: string): Result.Result<HostPort, string> => {
  const colon = text.lastIndexOf(":")
  if (colon < 0) return Result.fail(`"${text}" has no ":port"`)
  let host = text.slice(0, colon)
  const portText = text.slice(colon + 1)
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1)
  else if (host.includes(":")) return Result.fail(`"${text}": an IPv6 host must be in brackets`)
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    return Result.fail(`"${text}": port "${portText}" is not a number from 0 to 65535`)
  }
  return Result.succeed({ host: host === "" ? "0.0.0.0" : host, port: Number(portText) })
}

export const formatHostPort = ({ host, port }: HostPort): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`
