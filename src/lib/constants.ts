/**
 * Facts fixed by the control plane and the container image (../shared/spec/README.md).
 * The CP common name is deliberately not configurable: it is the whole authorization.
 */
export const CONTROL_PLANE_CN = "clawker-controlplane"
export const REGISTER_SCOPE = "agent:self:register"
export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

export const DEFAULT_LISTEN = "0.0.0.0:7700"
export const DEFAULT_BOOTSTRAP_DIR = "/run/clawker/bootstrap"
export const DEFAULT_LOG_DIR = "/var/log/clawker"
export const DEFAULT_INIT_MARKER = "/var/lib/clawker/agent-initialized"
export const DEFAULT_READY_FILE = "/var/run/clawker/ready"
export const DEFAULT_USER = "clawker"
export const DEFAULT_STOP_GRACE = "10 seconds"

export const BOOTSTRAP_FILES = {
  cert: "cert.pem",
  key: "key.pem",
  ca: "ca.pem",
  assertion: "assertion.jwt"
} as const

export const LOG_FILE = "clawkerd.log"
export const LOG_ROTATE_SIZE = "50M"
export const LOG_BACKUPS = 3
export const LOG_MAX_AGE_DAYS = 7
/**
 * Bytes of log lines that may wait for the file, at most. Beyond it lines are counted, not kept, and a
 * `log_lines_dropped` line says how many once the file caught up: a log that cannot keep up with the
 * daemon must not take PID 1's memory with it.
 */
export const LOG_QUEUE_LIMIT = 16 * 1024 * 1024
