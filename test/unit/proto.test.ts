import { describe, expect, it } from "vitest"
import { RegisterRequest, Welcome } from "../../src/gen/clawker/agent/v1/agent.js"
import * as pb from "../../src/gen/clawker/clawkerd/v1/clawkerd.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const bytes = (h: string) => Buffer.from(h.replace(/\s+/g, ""), "hex")

describe("wire bytes match the spec's field numbers", () => {
  it("Command{hello}: command_id=1, hello=2", () => {
    const msg: pb.Command = { commandId: "c1", payload: { $case: "hello", value: {} } }
    expect(hex(pb.Command.encode(msg).finish())).toBe("0a02633112" + "00")
    expect(pb.Command.decode(bytes("0a 02 63 31 12 00"))).toEqual(msg)
  })

  it("Command{shell}: every ShellCommand and PipeStage field", () => {
    const msg: pb.Command = {
      commandId: "s",
      payload: {
        $case: "shell",
        value: {
          stages: [{ argv: ["ls", "-l"], uid: 1000, gid: 1000, cwd: "/tmp", env: { A: "b" } }],
          timeoutSeconds: 5,
          initialStdin: Buffer.from("hi"),
          printOutput: true,
          exitOnNonZero: true
        }
      }
    }
    const stage = "0a026c73 0a022d6c 10e807 18e807 22042f746d70 2a060a014112016" + "2"
    const shell = `0a1c${stage} 1005 1a026869 2001 2801`
    const expected = `0a0173 1a28${shell}`.replace(/\s+/g, "")
    expect(hex(pb.Command.encode(msg).finish())).toBe(expected)
    expect(pb.Command.decode(bytes(expected))).toEqual(msg)
  })

  it("Command: stdin=4, close_stdin=5, signal=6, register_required=7, agent_ready=8, agent_initialized=9", () => {
    const cases: Array<[pb.Command["payload"], string]> = [
      [{ $case: "stdin", value: { data: Buffer.from("x") } }, "2203 0a0178"],
      [{ $case: "closeStdin", value: {} }, "2a00"],
      [{ $case: "signal", value: { signo: 15 } }, "3202 080f"],
      [{ $case: "registerRequired", value: {} }, "3a00"],
      [{ $case: "agentReady", value: { defaultCmd: "a" } }, "4203 0a0161"],
      [{ $case: "agentInitialized", value: {} }, "4a00"]
    ]
    for (const [payload, tail] of cases) {
      const expected = ("0a0169" + tail).replace(/\s+/g, "")
      expect(hex(pb.Command.encode({ commandId: "i", payload }).finish())).toBe(expected)
      expect(pb.Command.decode(bytes(expected))).toEqual({ commandId: "i", payload })
    }
  })

  it("Response{output}: output=4", () => {
    const msg: pb.Response = { commandId: "o", payload: { $case: "output", value: { data: Buffer.from("ab") } } }
    expect(hex(pb.Response.encode(msg).finish())).toBe("0a016f" + "2204" + "0a026162")
    expect(pb.Response.decode(bytes("0a016f 2204 0a026162"))).toEqual(msg)
  })

  it("Response{stage_exit}: stage_exit=6, exit_code -1 as a ten-byte int32 varint", () => {
    const msg: pb.Response = {
      commandId: "x",
      payload: { $case: "stageExit", value: { stageIndex: 1, exitCode: -1, signo: 9 } }
    }
    const expected = "0a0178 320f 0801 10ffffffffffffffffff01 1809".replace(/\s+/g, "")
    expect(hex(pb.Response.encode(msg).finish())).toBe(expected)
    expect(pb.Response.decode(bytes(expected))).toEqual(msg)
  })

  it("Response: hello_ack=2, started=3, done=7, error=8, register_done=9", () => {
    const cases: Array<[pb.Response["payload"], string]> = [
      [{ $case: "helloAck", value: { initialized: true, cmdRunning: true } }, "1204 0801 1001"],
      [{ $case: "started", value: {} }, "1a00"],
      [{ $case: "done", value: { finalExitCode: 3 } }, "3a02 0803"],
      [
        { $case: "error", value: { code: pb.ErrorCode.ERROR_CODE_TIMEOUT, message: "t" } },
        "4205 0804 120174"
      ],
      [{ $case: "registerDone", value: { ok: false, error: "e" } }, "4a03 120165"]
    ]
    for (const [payload, tail] of cases) {
      const expected = ("0a0172" + tail).replace(/\s+/g, "")
      expect(hex(pb.Response.encode({ commandId: "r", payload }).finish())).toBe(expected)
      expect(pb.Response.decode(bytes(expected))).toEqual({ commandId: "r", payload })
    }
  })

  it("Response: reserved field 5 is never produced and is skipped when received", () => {
    expect(pb.Response.decode(bytes("0a0172 2a02 0801"))).toEqual({ commandId: "r", payload: undefined })
  })

  it("ErrorCode values", () => {
    expect([
      pb.ErrorCode.ERROR_CODE_UNSPECIFIED,
      pb.ErrorCode.ERROR_CODE_UNKNOWN_COMMAND_ID,
      pb.ErrorCode.ERROR_CODE_INVALID_REQUEST,
      pb.ErrorCode.ERROR_CODE_SPAWN_FAILED,
      pb.ErrorCode.ERROR_CODE_TIMEOUT,
      pb.ErrorCode.ERROR_CODE_IO_ERROR,
      pb.ErrorCode.ERROR_CODE_NOT_FOUND
    ]).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  it("RegisterRequest: agent_name=1, project=2; Welcome is empty", () => {
    expect(hex(RegisterRequest.encode({ agentName: "a", project: "p" }).finish())).toBe("0a0161120170")
    expect(RegisterRequest.decode(bytes("0a0161120170"))).toEqual({ agentName: "a", project: "p" })
    expect(hex(Welcome.encode({}).finish())).toBe("")
  })

  it("an unknown oneof case decodes to an unset payload", () => {
    expect(pb.Command.decode(bytes("0a0169 5200"))).toEqual({ commandId: "i", payload: undefined })
  })

  it("service paths", () => {
    expect(pb.ClawkerdServiceService.session.path).toBe("/clawker.clawkerd.v1.ClawkerdService/Session")
    expect(pb.ClawkerdServiceService.session.requestStream && pb.ClawkerdServiceService.session.responseStream).toBe(
      true
    )
  })
})

describe("every message type round-trips", () => {
  const samples: Array<
    [string, { encode(m: never): { finish(): Uint8Array }; decode(b: Uint8Array): unknown }, unknown]
  > = [
    ["Hello", pb.Hello, {}],
    ["RegisterRequired", pb.RegisterRequired, {}],
    ["AgentInitialized", pb.AgentInitialized, {}],
    ["CloseStdin", pb.CloseStdin, {}],
    ["AgentReady", pb.AgentReady, { defaultCmd: "claude" }],
    [
      "ShellCommand",
      pb.ShellCommand,
      {
        stages: [{ argv: ["a"], uid: 0, gid: 0, cwd: "", env: {} }],
        timeoutSeconds: 0,
        initialStdin: Buffer.alloc(0),
        printOutput: false,
        exitOnNonZero: false
      }
    ],
    ["PipeStage", pb.PipeStage, { argv: ["x", "y"], uid: 65534, gid: 65534, cwd: "/", env: { K: "V", L: "" } }],
    ["Stdin", pb.Stdin, { data: Buffer.from([0, 1, 255]) }],
    ["Signal", pb.Signal, { signo: -3 }],
    ["HelloAck", pb.HelloAck, { initialized: true, cmdRunning: false }],
    ["RegisterDone", pb.RegisterDone, { ok: true, error: "" }],
    ["Started", pb.Started, {}],
    ["OutputChunk", pb.OutputChunk, { data: Buffer.from("out") }],
    ["StageExit", pb.StageExit, { stageIndex: 4294967295, exitCode: 255, signo: 0 }],
    ["Done", pb.Done, { finalExitCode: -1 }],
    ["Error", pb.Error, { code: pb.ErrorCode.ERROR_CODE_NOT_FOUND, message: "m" }],
    ["RegisterRequest", RegisterRequest, { agentName: "n", project: "" }],
    ["Welcome", Welcome, {}]
  ]
  for (const [name, fns, value] of samples) {
    it(name, () => {
      expect(fns.decode(fns.encode(value as never).finish())).toEqual(value)
    })
  }
})
