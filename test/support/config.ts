import { ConfigProvider, Effect, Layer } from "effect"
import { loadDaemonConfig } from "../../src/layers/config/DaemonConfigLive.js"
import { DaemonConfig } from "../../src/services/DaemonConfig.js"

/** DaemonConfig parsed by the real config code from an environment map (agent dev, project demo). */
export const configFrom = (env: Readonly<Record<string, string>>, userCmd: ReadonlyArray<string> = []) =>
  Layer.effect(
    DaemonConfig,
    loadDaemonConfig(userCmd).pipe(
      Effect.provideService(
        ConfigProvider.ConfigProvider,
        ConfigProvider.fromEnvRecord({ CLAWKER_AGENT: "dev", CLAWKER_PROJECT: "demo", ...env })
      ),
      Effect.orDie
    )
  )
