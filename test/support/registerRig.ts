import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import type { AgentServiceHandle, RegisterAnswer } from "../../devkit/agentService.js"
import { startAgentService } from "../../devkit/agentService.js"
import type { AssertionSigner } from "../../devkit/assertion.js"
import { mintAssertion, newAssertionSigner } from "../../devkit/assertion.js"
import { writeBootstrapDir } from "../../devkit/bootstrapDir.js"
import type { OAuthServer, OAuthServerOptions } from "../../devkit/oauthServer.js"
import { startOAuthServer } from "../../devkit/oauthServer.js"
import type { Deployment } from "../../devkit/pki.js"
import { mintDeployment } from "../../devkit/pki.js"
import { BootstrapStoreFromDir } from "../../src/layers/bootstrap/BootstrapStoreLive.js"
import { HydraLive } from "../../src/layers/register/HydraLive.js"
import { RegistrarLive } from "../../src/layers/register/RegistrarLive.js"
import { configFrom } from "./config.js"
import { tempDir } from "./fixtures.js"

export interface RigOptions {
  readonly oauth?: Partial<Omit<OAuthServerOptions, "clientJwk">>
  readonly answer?: RegisterAnswer
  readonly assertion?: { readonly expiresInSeconds?: number; readonly nowSeconds?: number }
}

/**
 * One clawker deployment with its real OAuth2 server (Hydra's stand-in) and CP AgentService, and a
 * bootstrap directory holding an assertion minted for that server's token endpoint.
 */
export interface Rig {
  readonly deployment: Deployment
  readonly signer: AssertionSigner
  readonly assertion: string
  readonly bootstrapDir: string
  /** The OAuth2 server currently up (see restartOAuth). */
  oauth: OAuthServer
  readonly cp: AgentServiceHandle
  /** CLAWKER_CP_HYDRA_URL and CLAWKER_CP_AGENT_ADDR pointing at the two servers. */
  readonly env: Record<string, string>
  /** Stops the OAuth2 server; its port stays in env. */
  stopOAuth(): Promise<void>
  /** Starts it again on the same port (same token endpoint, so the assertion still fits). */
  restartOAuth(): Promise<void>
  close(): Promise<void>
}

export const startRig = async (options: RigOptions = {}): Promise<Rig> => {
  const deployment = await mintDeployment()
  const signer = await newAssertionSigner()
  const oauthOptions = (port?: number): OAuthServerOptions => ({
    serverCert: deployment.cpServer,
    ...options.oauth,
    ...(port === undefined ? {} : { port }),
    clientJwk: signer.publicJwk
  })
  const oauth = await startOAuthServer(oauthOptions())
  let oauthUp = true
  const cp = await startAgentService({
    deployment,
    verifyToken: (token) => rig.oauth.verifyAccessToken(token),
    ...(options.answer === undefined ? {} : { answer: options.answer })
  })
  const assertion = await mintAssertion(signer, oauth.tokenEndpoint, options.assertion)
  const bootstrapDir = path.join(await tempDir(), "bootstrap")
  await writeBootstrapDir(bootstrapDir, deployment, assertion)
  const rig: Rig = {
    deployment,
    signer,
    assertion,
    bootstrapDir,
    oauth,
    cp,
    env: { CLAWKER_CP_HYDRA_URL: oauth.url, CLAWKER_CP_AGENT_ADDR: cp.address },
    stopOAuth: async () => {
      oauthUp = false
      await rig.oauth.close()
    },
    restartOAuth: async () => {
      rig.oauth = await startOAuthServer(oauthOptions(rig.oauth.port))
      oauthUp = true
    },
    close: async () => {
      if (oauthUp) await rig.oauth.close()
      await cp.close()
    }
  }
  return rig
}

/** A rig for the life of the current scope. */
export const rigScoped = (options?: RigOptions) =>
  Effect.acquireRelease(Effect.promise(() => startRig(options)), (rig) => Effect.promise(() => rig.close()))

/** What clawkerd builds: Registrar over Hydra, config from `env`, bootstrap from the rig's directory. */
export const registrarLayer = (rig: Rig, env: Readonly<Record<string, string>> = rig.env) =>
  RegistrarLive.pipe(
    Layer.provideMerge(HydraLive),
    Layer.provideMerge(
      Layer.merge(
        configFrom(env),
        BootstrapStoreFromDir(rig.bootstrapDir).pipe(Layer.provide(NodeFileSystem.layer), Layer.orDie)
      )
    )
  )
