/**
 * What clawkerd's own runtime reads from the environment, and clawkerd's own settings: set (by the
 * Dockerfile or the operator) for the daemon, never meant for the user CMD or a stage. A leaked
 * NODE_ENV=production changes what `npm install` does in an agent that is itself a Node program.
 */
const RUNTIME_PREFIXES = ["NODE_", "UV_", "CLAWKERD_"]

const isRuntimeVariable = (name: string): boolean => RUNTIME_PREFIXES.some((prefix) => name.startsWith(prefix))

/** The image's environment as children get it: clawkerd's, minus what only clawkerd's runtime uses. */
export const childEnvironment = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !isRuntimeVariable(name)))
