import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as C from "../../src/programs/cp/commands.js"
import { daemonsOfFile } from "../support/daemonsOfFile.js"
import { pidNamespaceUnavailable } from "../support/pidns.js"

/*
 * The built daemon as PID 1, Registering against the CP rig with every proxy variable pointing at a
 * proxy that accepts connections and never answers: both the token request and the Register dial go
 * direct. With grpc-js tracing on, none of grpc-js's own lines reach the daemon's stderr (the user's
 * terminal); they are grpc_log events of its JSON log.
 */

const unavailable = pidNamespaceUnavailable()
if (unavailable !== undefined) console.warn(`skipping register proxy e2e tests: ${unavailable}`)
const daemons = daemonsOfFile(unavailable)

/** A "proxy" that takes connections and says nothing: a dial through it hangs until its deadline. */
let deadProxy: net.Server
let proxied = 0
beforeAll(async () => {
  deadProxy = net.createServer((socket) => {
    proxied++
    socket.on("error", () => undefined)
  })
  await new Promise<void>((resolve) => deadProxy.listen(0, "127.0.0.1", resolve))
})
afterAll(() => {
  deadProxy.close()
})

const proxyEnv = () => {
  const url = `http://127.0.0.1:${(deadProxy.address() as net.AddressInfo).port}`
  return Object.fromEntries(
    ["grpc_proxy", "https_proxy", "http_proxy", "HTTPS_PROXY", "HTTP_PROXY", "all_proxy", "ALL_PROXY"].map((v) => [
      v,
      url
    ])
  )
}

/** grpc-js's default logger writes "E ", "I " or "D " and a timestamp or text to console.error. */
const GRPC_LINE = /^[EID] (\d{4}-\d\d-\d\dT|.*\| v\d)/m

describe.skipIf(unavailable !== undefined)("the CP is dialled directly", () => {
  it("Register succeeds with every *_proxy variable pointing at a dead proxy, which sees no connection", async () => {
    const d = await daemons.start(["true"], { env: { ...daemons.cp().env, ...proxyEnv() } })
    const s = await d.session()
    expect((await s.request(C.registerRequired("reg"), 40_000)).payload).toEqual({
      $case: "registerDone",
      value: { ok: true, error: "" }
    })
    expect(proxied).toBe(0)
    expect(d.events("register_rpc_ok")).toHaveLength(1)
  }, 60_000)

  it("grpc-js's own lines (GRPC_TRACE=all) go to the JSON log as grpc_log, never to stderr", async () => {
    const d = await daemons.start(["sleep", "1000"], {
      env: { ...daemons.cp().env, GRPC_TRACE: "all", GRPC_VERBOSITY: "DEBUG" }
    })
    const s = await d.session()
    expect((await s.request(C.registerRequired("reg"), 40_000)).payload?.$case).toBe("registerDone")
    expect((await s.request(C.hello("h"))).payload?.$case).toBe("helloAck")
    s.close()
    await s.ended
    await d.ns.signal("SIGTERM")
    await d.ns.exited
    expect(d.ns.stderr()).not.toMatch(GRPC_LINE)
    const lines = d.events("grpc_log")
    expect(lines.length).toBeGreaterThan(10)
    expect(lines.every((e) => e.level === "debug" || e.level === "info" || e.level === "warn")).toBe(true)
    expect(lines.some((e) => /\| (subchannel|channel|server|transport)/.test(String(e.message)))).toBe(true)
  }, 60_000)
})
