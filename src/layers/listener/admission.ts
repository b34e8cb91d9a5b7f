/**
 * Bounds on connections that have not finished their TLS handshake: anyone who can reach the port
 * can open them, and each holds an fd and some memory until its handshake ends or times out.
 */
export interface AdmissionLimits {
  /** Handshakes in flight from all sources together. */
  readonly maxPending: number
  /** Handshakes in flight from one source address. */
  readonly maxPendingPerSource: number
}

interface Entry {
  readonly source: string
  /** Acceptance order: lower is older. */
  readonly seq: number
}

/**
 * The connections in their handshake, by source, oldest first. A new connection is always taken in
 * (it may be the control plane reconnecting); when that goes over a limit, an older one makes room:
 * over its source's limit, that source's oldest; over the global limit, the oldest of the source
 * holding the most, so a flood from a few addresses sheds its own connections, never a lone
 * handshake from elsewhere (the CP's). `admit` returns the connection to drop, if any; the caller
 * drops it and calls `settled` for it like for any other that leaves the handshake.
 */
export const makeAdmission = <S extends object>(limits: AdmissionLimits) => {
  const entries = new Map<S, Entry>()
  /** Per source, in acceptance order (a Set iterates in insertion order). */
  const bySource = new Map<string, Set<S>>()
  let seq = 0

  const oldestOf = (source: string): S | undefined => bySource.get(source)?.values().next().value

  /** The source holding the most handshakes; on a tie, the one whose oldest is older. */
  const busiestSource = (): string | undefined => {
    let best: { source: string; size: number; seq: number } | undefined
    for (const [source, sockets] of bySource) {
      const first = sockets.values().next().value
      const firstSeq = first === undefined ? Infinity : entries.get(first)!.seq
      if (best === undefined || sockets.size > best.size || (sockets.size === best.size && firstSeq < best.seq)) {
        best = { source, size: sockets.size, seq: firstSeq }
      }
    }
    return best?.source
  }

  const victimFor = (source: string): S | undefined => {
    if ((bySource.get(source)?.size ?? 0) > limits.maxPendingPerSource) return oldestOf(source)
    if (entries.size > limits.maxPending) {
      const busiest = busiestSource()
      return busiest === undefined ? undefined : oldestOf(busiest)
    }
    return undefined
  }

  return {
    admit: (socket: S, source: string): S | undefined => {
      entries.set(socket, { source, seq: seq++ })
      let sockets = bySource.get(source)
      if (sockets === undefined) bySource.set(source, sockets = new Set())
      sockets.add(socket)
      return victimFor(source)
    },
    /** The connection left its handshake (done, refused, dropped or closed); idempotent. */
    settled: (socket: S): void => {
      const entry = entries.get(socket)
      if (entry === undefined) return
      entries.delete(socket)
      const sockets = bySource.get(entry.source)
      sockets?.delete(socket)
      if (sockets?.size === 0) bySource.delete(entry.source)
    },
    pending: (): number => entries.size
  }
}
