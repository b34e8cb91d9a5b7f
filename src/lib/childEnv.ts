/**
 * What clawkerd's own runtime reads or carries, and clawkerd's own settings: set for the daemon (by its
 * Dockerfile, its node base image or the operator), never meant for the user CMD or a stage. A leaked
 * NODE_ENV=production changes what `npm install` does in an agent that is itself a Node program.
 * Variables a Node program of the image may want as well (NODE_EXTRA_CA_CERTS, NODE_PATH, ...) stay.
 */
const RUNTIME_NAMES = new Set(["NODE_ENV", "NODE_OPTIONS", "NODE_VERSION", "YARN_VERSION"])
const RUNTIME_PREFIXES = ["UV_", "CLAWKERD_"]

const isRuntimeVariable = (name: string): boolean =>
  RUNTIME_NAMES.has(name) || RUNTIME_PREFIXES.some((prefix) => name.startsWith(prefix))

/** The image's environment as children get it: clawkerd's, minus what only clawkerd's runtime uses. */
export const childEnvironment = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !isRuntimeVariable(name)))
