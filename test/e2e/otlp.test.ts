import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { DEMO_TRACEPARENT, runDemo } from "../../devkit/demoRun.js"
import type { OtlpReceiver, ReceivedSpan, ReceiverBehaviour } from "../../devkit/otlpReceiver.js"
import { startOtlpReceiver } from "../../devkit/otlpReceiver.js"
import { assertBuilt, repoRoot } from "../support/daemon.js"

/*
 * The demo's whole lifecycle with clawkerd exporting to a real OTLP/HTTP receiver, which decodes what
 * arrives with the official OTLP protobuf definitions: the spans, log records and metrics of one boot,
 * and the same lifecycle against a collector that is down or never answers.
 */

const [, CP_TRACE, CP_SPAN] = DEMO_TRACEPARENT.split("-")
const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string })
  .version

const bin = path.join(repoRoot, "dist/programs/bin.js")
let receiver: OtlpReceiver | undefined
const receiving = async (behaviour: ReceiverBehaviour) => (receiver = await startOtlpReceiver(behaviour))
afterEach(async () => {
  await receiver?.close()
  receiver = undefined
})

const one = (spans: ReadonlyArray<ReceivedSpan>, name: string, commandId?: string) => {
  const found = spans.filter((s) =>
    s.name === name && (commandId === undefined || s.attributes.command_id === commandId)
  )
  expect(found.map((s) => s.name), `one ${name} ${commandId ?? ""}`).toEqual([name])
  return found[0]!
}

describe("OTLP export", () => {
  it(
    "a demo boot: one trace under the CP's span, its log events and its metrics, with clawkerd's resource",
    async () => {
      assertBuilt()
      const otlp = await receiving("collect")
      const run = await runDemo({ otlp, bin })
      expect(run.code).toBe(0)

      const { spans } = otlp
      const session = one(spans, "clawkerd.session")
      expect(session).toMatchObject({ traceId: CP_TRACE, parentSpanId: CP_SPAN })
      expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([CP_TRACE]))
      const register = one(spans, "clawkerd.command.registerRequired", "register-1")
      const ready = one(spans, "clawkerd.command.agentReady", "ready-1")
      const git = one(spans, "clawkerd.command.shell", "init-0123456789ab-git-2")
      for (const command of [register, ready, git, one(spans, "clawkerd.command.hello", "hello-1")]) {
        expect(command.parentSpanId).toBe(session.spanId)
      }
      expect(one(spans, "clawkerd.hydra.token_exchange").parentSpanId).toBe(register.spanId)
      expect(one(spans, "clawkerd.register.rpc").parentSpanId).toBe(register.spanId)
      expect(one(spans, "clawkerd.supervisor.spawn").parentSpanId).toBe(ready.spanId)
      const stages = spans.filter((s) =>
        s.name === "clawkerd.stage" && s.attributes.command_id === git.attributes.command_id
      )
      expect(stages.map((s) => [s.parentSpanId, s.attributes.stage_index, s.attributes.exit_code]).sort()).toEqual([
        [git.spanId, 0, 0],
        [git.spanId, 1, 0],
        [git.spanId, 2, 0]
      ])
      expect(session.resource).toMatchObject({
        "service.name": "clawkerd",
        "service.version": version,
        agent: "demo-agent",
        project: "demo",
        "deployment.environment": "demo",
        "container.id": "0123456789ab"
      })

      // Every event of the JSON log, the last (shutdown) included: the final flush comes after the teardown.
      const bodies = otlp.logs.map((l) => l.body)
      expect(bodies).toEqual(
        expect.arrayContaining(["boot", "session_started", "token_acquired", "spawn_started", "shutdown"])
      )
      expect(otlp.logs.find((l) => l.body === "session_started")?.traceId).toBe(CP_TRACE)
      const exported = JSON.stringify(otlp.logs)
      for (const secret of ["PRIVATE KEY", "eyJ"]) expect(exported).not.toContain(secret)

      const metric = (name: string) => otlp.metrics.filter((m) => m.name === name).flatMap((m) => m.points)
      const hellos = metric("clawkerd.commands").filter((p) => p.attributes.kind === "hello")
      expect(Math.max(...hellos.map((p) => p.value))).toBe(2)
      expect(hellos.every((p) => p.attributes.outcome === "accepted")).toBe(true)
      expect(Math.max(...metric("clawkerd.output.bytes").map((p) => p.value))).toBeGreaterThanOrEqual(43)
      expect(Math.max(...metric("clawkerd.memory.rss").map((p) => p.value))).toBeGreaterThan(10 * 1024 * 1024)
      expect(metric("clawkerd.sessions.open").length).toBeGreaterThan(0)
    },
    60_000
  )

  it.each(["down", "hang"] as const)(
    "a collector that is %s changes nothing: same lifecycle, exit 0, failures counted",
    async (behaviour) => {
      assertBuilt()
      const otlp = await receiving(behaviour)
      const run = await runDemo({ otlp, bin })
      expect(run.code).toBe(0)
      expect(otlp.requests()).toBeGreaterThan(0)
      expect(run.events.map((e) => e.event)).toEqual(expect.arrayContaining(["agent_ready_spawned", "shutdown"]))
      // Dropped and failed exports are logged, counted, once a minute at most.
      const failures = run.events.filter((e) => e.event === "otlp_export_failed")
      expect(failures.length).toBeGreaterThanOrEqual(behaviour === "down" ? 1 : 0)
      expect(otlp.spans).toEqual([])
    },
    60_000
  )
})
