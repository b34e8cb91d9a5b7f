import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as tls from "node:tls"

/*
 * The throughput baseline's server, a process of its own as clawkerd is: `node tlsSource.js
 * BOOTSTRAP_DIR BYTES` listens with the agent's leaf under the same mTLS rules (TLS 1.3, client
 * certificate chained to the bootstrap CA) and sends each client the output of `head -c BYTES
 * /dev/zero`, piped straight into the TLS socket. Prints "port N" once listening.
 */

const [dir, bytes] = process.argv.slice(2)
if (dir === undefined || bytes === undefined) {
  process.stderr.write("usage: tlsSource BOOTSTRAP_DIR BYTES\n")
  process.exit(2)
}
const read = (name: string) => fs.readFileSync(path.join(dir, name), "utf8")

const server = tls.createServer(
  {
    key: read("key.pem"),
    cert: read("cert.pem"),
    ca: read("ca.pem"),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3"
  },
  (socket) => {
    socket.on("error", () => socket.destroy())
    const head = spawn("head", ["-c", bytes, "/dev/zero"], { stdio: ["ignore", "pipe", "inherit"] })
    head.stdout.pipe(socket)
  }
)
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`port ${(server.address() as { port: number }).port}\n`)
})
process.on("SIGTERM", () => server.close(() => process.exit(0)))
