/*
 * clawkerd as a library: the capabilities a sibling daemon composes. Each is a service (its tag, its
 * interface and its errors; `clawkerd/services`) with its live layer (`clawkerd/layers`), plus the named
 * stacks there; the frames a SessionHandler of its own reads and writes are `clawkerd/wire`; `main` is
 * clawkerd's own program. `effect` and `@effect/platform-node` come from the composing daemon (peer
 * dependencies, ^4.1).
 */

export * from "./layers/index.js"
export * as Log from "./lib/log.js"
export { main } from "./programs/main.js"
export * from "./services/index.js"
export * from "./wire/index.js"
