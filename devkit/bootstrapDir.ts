import * as fs from "node:fs/promises"
import * as path from "node:path"
import { BOOTSTRAP_FILES } from "../src/lib/constants.js"
import type { Deployment } from "./pki.js"

/** Writes a bootstrap directory the way the host CLI does: dir 0700, files 0400. */
export const writeBootstrapDir = async (dir: string, deployment: Deployment, assertion: string): Promise<void> => {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  await fs.chmod(dir, 0o700)
  const files: Array<[string, string]> = [
    [BOOTSTRAP_FILES.cert, deployment.agent.certPem],
    [BOOTSTRAP_FILES.key, deployment.agent.keyPem],
    [BOOTSTRAP_FILES.ca, deployment.ca.certPem],
    [BOOTSTRAP_FILES.assertion, assertion]
  ]
  for (const [name, content] of files) {
    const file = path.join(dir, name)
    await fs.rm(file, { force: true })
    await fs.writeFile(file, content, { mode: 0o400 })
  }
}
