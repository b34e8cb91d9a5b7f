import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Option, Result } from "effect"
import { loadDaemonConfig } from "../../src/layers/config/DaemonConfigLive.js"
import { parseHostPort } from "../../src/lib/hostPort.js"

const withEnv = (env: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env))

const load = (env: Record<string, string>, argv: ReadonlyArray<string> = []) =>
  loadDaemonConfig(argv).pipe(withEnv(env), Effect.result)

describe("DaemonConfig", () => {
  it.effect("uses the spec's defaults when only CLAWKER_AGENT is set", () =>
    Effect.gen(function*() {
      const config = Result.getOrThrow(yield* load({ CLAWKER_AGENT: "dev" }, ["claude", "--resume"]))
      expect(config).toMatchObject({
        agent: "dev",
        project: "",
        user: "clawker",
        bootstrapDir: "/run/clawker/bootstrap",
        listen: { host: "0.0.0.0", port: 7700 },
        logDir: "/var/log/clawker",
        initMarker: "/var/lib/clawker/agent-initialized",
        readyFile: "/var/run/clawker/ready",
        passwdFile: "/etc/passwd",
        groupFile: "/etc/group",
        logStderr: false,
        userCmd: ["claude", "--resume"]
      })
      expect(Duration.toMillis(config.stopGrace)).toBe(10_000)
      expect(config.logLevel).toBe("Info")
      expect(Option.isNone(config.hydraUrl)).toBe(true)
      expect(Option.isNone(config.cpAgentAddr)).toBe(true)
    }))

  it.effect("reads every override", () =>
    Effect.gen(function*() {
      const config = Result.getOrThrow(
        yield* load({
          CLAWKER_AGENT: "a",
          CLAWKER_PROJECT: "p",
          CLAWKER_USER: "1000:1000",
          CLAWKER_CP_HYDRA_URL: "https://hydra.local:4444/",
          CLAWKER_CP_AGENT_ADDR: "cp.local:7443",
          CLAWKERD_BOOTSTRAP_DIR: "/tmp/b",
          CLAWKERD_LISTEN: "[::1]:0",
          CLAWKERD_LOG_DIR: "/tmp/l",
          CLAWKERD_LOG_LEVEL: "debug",
          CLAWKERD_INIT_MARKER: "/tmp/m",
          CLAWKERD_READY_FILE: "/tmp/r",
          CLAWKERD_PASSWD_FILE: "/tmp/passwd",
          CLAWKERD_GROUP_FILE: "/tmp/group",
          CLAWKERD_STOP_GRACE: "250 millis",
          CLAWKERD_LOG_STDERR: "yes"
        })
      )
      expect(config.project).toBe("p")
      expect(config.user).toBe("1000:1000")
      expect(Option.getOrThrow(config.hydraUrl).href).toBe("https://hydra.local:4444/")
      expect(Option.getOrThrow(config.cpAgentAddr)).toEqual({ host: "cp.local", port: 7443 })
      expect(config.listen).toEqual({ host: "::1", port: 0 })
      expect(config.logLevel).toBe("Debug")
      expect(Duration.toMillis(config.stopGrace)).toBe(250)
      expect(config.logStderr).toBe(true)
      expect([config.bootstrapDir, config.logDir, config.initMarker, config.readyFile]).toEqual([
        "/tmp/b",
        "/tmp/l",
        "/tmp/m",
        "/tmp/r"
      ])
    }))

  it.effect("treats empty values as unset", () =>
    Effect.gen(function*() {
      const config = Result.getOrThrow(
        yield* load({ CLAWKER_AGENT: "a", CLAWKER_CP_HYDRA_URL: "", CLAWKERD_LISTEN: " ", CLAWKER_USER: "" })
      )
      expect(Option.isNone(config.hydraUrl)).toBe(true)
      expect(config.listen.port).toBe(7700)
      expect(config.user).toBe("clawker")
    }))

  const rejects: Array<[string, Record<string, string>, string, RegExp]> = [
    ["missing agent", {}, "CLAWKER_AGENT", /is not set/],
    ["empty agent", { CLAWKER_AGENT: "" }, "CLAWKER_AGENT", /is not set/],
    ["listen without port", { CLAWKER_AGENT: "a", CLAWKERD_LISTEN: "0.0.0.0" }, "CLAWKERD_LISTEN", /no ":port"/],
    ["listen port too big", { CLAWKER_AGENT: "a", CLAWKERD_LISTEN: "h:70000" }, "CLAWKERD_LISTEN", /0 to 65535/],
    ["relative path", { CLAWKER_AGENT: "a", CLAWKERD_LOG_DIR: "logs" }, "CLAWKERD_LOG_DIR", /not absolute/],
    ["bad duration", { CLAWKER_AGENT: "a", CLAWKERD_STOP_GRACE: "soon" }, "CLAWKERD_STOP_GRACE", /not a duration/],
    ["bad boolean", { CLAWKER_AGENT: "a", CLAWKERD_LOG_STDERR: "maybe" }, "CLAWKERD_LOG_STDERR", /not a boolean/],
    ["bad level", { CLAWKER_AGENT: "a", CLAWKERD_LOG_LEVEL: "loud" }, "CLAWKERD_LOG_LEVEL", /not a log level/],
    [
      "http hydra",
      { CLAWKER_AGENT: "a", CLAWKER_CP_HYDRA_URL: "http://h" },
      "CLAWKER_CP_HYDRA_URL",
      /not an https URL/
    ],
    ["garbage hydra", { CLAWKER_AGENT: "a", CLAWKER_CP_HYDRA_URL: "::" }, "CLAWKER_CP_HYDRA_URL", /not a URL/],
    ["bad cp addr", { CLAWKER_AGENT: "a", CLAWKER_CP_AGENT_ADDR: "cp" }, "CLAWKER_CP_AGENT_ADDR", /no ":port"/],
    ["negative grace", { CLAWKER_AGENT: "a", CLAWKERD_STOP_GRACE: "-5 seconds" }, "CLAWKERD_STOP_GRACE", /negative/],
    ["negative seconds", { CLAWKER_AGENT: "a", CLAWKERD_STOP_GRACE: "-1" }, "CLAWKERD_STOP_GRACE", /negative/]
  ]
  for (const [name, env, variable, problem] of rejects) {
    it.effect(`rejects ${name} naming ${variable}`, () =>
      Effect.gen(function*() {
        const result = yield* load(env)
        expect(Result.isFailure(result)).toBe(true)
        if (Result.isFailure(result)) {
          expect(result.failure.variable).toBe(variable)
          expect(result.failure.message).toMatch(problem)
          expect(result.failure.message.startsWith(`${variable}: `)).toBe(true)
          expect(result.failure.message).toMatch(/\(expected .+\)$/)
        }
      }))
  }
})

describe("DaemonConfig: the README's values and every mistake at once", () => {
  it.effect.each(
    [
      ["all", "All"],
      ["trace", "Trace"],
      ["debug", "Debug"],
      ["info", "Info"],
      ["warning", "Warn"],
      ["error", "Error"],
      ["fatal", "Fatal"],
      ["none", "None"],
      ["WARNING", "Warn"],
      ["warn", "Warn"],
      ["off", "None"],
      ["OFF", "None"]
    ] as const
  )("CLAWKERD_LOG_LEVEL=%s is accepted", ([text, level]) =>
    Effect.gen(function*() {
      const config = Result.getOrThrow(yield* load({ CLAWKER_AGENT: "a", CLAWKERD_LOG_LEVEL: text }))
      expect(config.logLevel).toBe(level)
    }))

  it.effect.each(
    [
      ["10s", 10_000],
      ["10", 10_000],
      ["2.5", 2_500],
      ["500ms", 500],
      ["2m", 120_000],
      ["10 seconds", 10_000],
      ["1 second", 1_000],
      ["250 millis", 250],
      ["0", 0]
    ] as const
  )("CLAWKERD_STOP_GRACE=%s is %d ms", ([text, millis]) =>
    Effect.gen(function*() {
      const config = Result.getOrThrow(yield* load({ CLAWKER_AGENT: "a", CLAWKERD_STOP_GRACE: text }))
      expect(Duration.toMillis(config.stopGrace)).toBe(millis)
    }))

  it.effect("reports every mistake in one error, not only the first", () =>
    Effect.gen(function*() {
      const result = yield* load({
        CLAWKERD_LOG_LEVEL: "loud",
        CLAWKERD_LISTEN: "nowhere",
        CLAWKERD_STOP_GRACE: "-3s",
        CLAWKERD_READY_FILE: "ready"
      })
      const message = Result.getFailure(result).pipe(Option.getOrThrow).message
      for (
        const variable of [
          "CLAWKER_AGENT",
          "CLAWKERD_LOG_LEVEL",
          "CLAWKERD_LISTEN",
          "CLAWKERD_STOP_GRACE",
          "CLAWKERD_READY_FILE"
        ]
      ) {
        expect(message).toContain(`${variable}: `)
      }
      expect(message.split("; ")).toHaveLength(5)
    }))
})

describe("parseHostPort", () => {
  it("accepts host:port, [v6]:port and :port", () => {
    expect(parseHostPort("127.0.0.1:7700")).toEqual(Result.succeed({ host: "127.0.0.1", port: 7700 }))
    expect(parseHostPort("[::]:1")).toEqual(Result.succeed({ host: "::", port: 1 }))
    expect(parseHostPort(":7700")).toEqual(Result.succeed({ host: "0.0.0.0", port: 7700 }))
  })
  it("rejects an unbracketed IPv6 host and a non-numeric port", () => {
    expect(Result.isFailure(parseHostPort("::1:80"))).toBe(true)
    expect(Result.isFailure(parseHostPort("h:http"))).toBe(true)
  })
})
