/**
 * The image's environment as the user CMD and stages get it (spec: the reference passes clawkerd's on
 * whole): all of it but clawkerd's own settings. Everything else is the image's, for its agent: the
 * Python stack's UV_PYTHON_INSTALL_DIR, a Node agent's NODE_OPTIONS, the telemetry's OTEL_*.
 */
export const childEnvironment = (env: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("CLAWKERD_")))
