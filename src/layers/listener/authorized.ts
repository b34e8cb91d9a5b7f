/**
 * The verified control-plane connections the listener holds, oldest first. The CP keeps one; each
 * held connection costs PID 1 its TLS and HTTP/2 state (the README's budget table). Over the bound,
 * `add` returns the oldest to close: a CP that reconnects is never locked out by connections it
 * already gave up on (a half-open one after a network change lives until keepalive ends it, 40 s).
 */
export const makeAuthorizedConnections = <S>(max: number) => {
  /** A Set iterates in insertion order: the first entry is the oldest. */
  const held = new Set<S>()
  return {
    add: (connection: S): S | undefined => {
      held.add(connection)
      if (held.size <= max) return undefined
      const oldest: S = held.values().next().value!
      held.delete(oldest)
      return oldest
    },
    closed: (connection: S): void => void held.delete(connection)
  }
}
