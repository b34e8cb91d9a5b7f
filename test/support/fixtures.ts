import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { AssertionSigner } from "../../devkit/assertion.js"
import { mintAssertion, newAssertionSigner } from "../../devkit/assertion.js"
import { writeBootstrapDir } from "../../devkit/bootstrapDir.js"
import type { Deployment } from "../../devkit/pki.js"
import { mintDeployment } from "../../devkit/pki.js"

export const tempDir = (prefix = "clawkerd-test-") => fs.mkdtemp(path.join(os.tmpdir(), prefix))

export interface BootstrapFixture {
  readonly root: string
  readonly dir: string
  readonly deployment: Deployment
  readonly signer: AssertionSigner
  readonly assertion: string
}

/** A deployment's certificates plus a bootstrap directory holding them and a fresh assertion. */
export const bootstrapFixture = async (
  tokenEndpoint = "https://clawker-controlplane:4444/oauth2/token"
): Promise<BootstrapFixture> => {
  const root = await tempDir()
  const dir = path.join(root, "bootstrap")
  const deployment = await mintDeployment()
  const signer = await newAssertionSigner()
  const assertion = await mintAssertion(signer, tokenEndpoint)
  await writeBootstrapDir(dir, deployment, assertion)
  return { root, dir, deployment, signer, assertion }
}

/** Sets variables in this process's environment for the scope, restoring what was there before. */
export const scopedProcessEnv = (vars: Readonly<Record<string, string>>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const before = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]))
      Object.assign(process.env, vars)
      return before
    }),
    (before) =>
      Effect.sync(() => {
        for (const [name, value] of Object.entries(before)) {
          if (value === undefined) delete process.env[name]
          else process.env[name] = value
        }
      })
  )
