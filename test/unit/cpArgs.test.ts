import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { parseGroup, parsePasswd, resolveExecUserSpec } from "../../src/layers/supervisor/passwd.js"
import { parseCpArgs } from "../../src/programs/cp/cpArgs.js"

const files = ["--ca", "ca.pem", "--cert", "cert.pem", "--key", "key.pem"]
const parse = (...args: ReadonlyArray<string>) => parseCpArgs(["--addr", "10.0.0.5:7700", ...files, ...args], {})
const execOf = (...args: ReadonlyArray<string>) => {
  const r = parse("exec", ...args)
  if (Result.isFailure(r) || r.success._tag !== "Run") throw new Error(`not a run: ${JSON.stringify(r)}`)
  return r.success.exec
}
const failure = (r: Result.Result<unknown, string>) => (Result.isFailure(r) ? r.failure : "(parsed)")

describe("clawkerd-cp's command line", () => {
  it("exec's own options end at the command's first word or at --, like docker exec", () => {
    expect(execOf("-iw", "/srv", "sh", "-c", "echo -w")).toMatchObject({
      interactive: true,
      workdir: "/srv",
      argv: ["sh", "-c", "echo -w"]
    })
    expect(execOf("-w/srv", "--", "-x")).toMatchObject({ workdir: "/srv", argv: ["-x"] })
    expect(execOf("--user=app:app", "--timeout", "5", "ls", "-h")).toMatchObject({
      user: "app:app",
      timeoutSeconds: 5,
      argv: ["ls", "-h"]
    })
  })

  it("-e KEY=VAL sets, -e KEY passes our value only when we have one", () => {
    const r = parseCpArgs(["--addr", "h:1", ...files, "exec", "-e", "A=x=y", "-e", "B", "-e", "C", "true"], {
      B: "ours"
    })
    expect(Result.isSuccess(r) && r.success._tag === "Run" && r.success.exec.env).toEqual({ A: "x=y", B: "ours" })
    expect(failure(parse("exec", "-e", "=v", "true"))).toContain("variable name is empty")
  })

  it("an address needs a host and a port", () => {
    for (const addr of ["10.0.0.5", ":7700", "h:0", "::1:7700", "h:http"]) {
      expect(failure(parseCpArgs(["--addr", addr, ...files, "hello"], {})), addr).toMatch(/^--addr /)
    }
    const v6 = parseCpArgs(["--addr", "[::1]:7700", ...files, "hello"], {})
    expect(Result.isSuccess(v6) && v6.success._tag === "Run" && v6.success.addr).toBe("[::1]:7700")
  })

  it("--help and --version need nothing else", () => {
    expect(parseCpArgs(["--version"], {})).toEqual(Result.succeed({ _tag: "Version" }))
    expect(parseCpArgs(["exec", "-h"], {})).toEqual(Result.succeed({ _tag: "Help" }))
  })
})

describe("docker exec -u against the container's passwd and group", () => {
  const passwd = parsePasswd("root:x:0:0::/root:/bin/sh\napp:x:1001:1002::/home/app:/bin/sh\n")
  const groups = parseGroup("root:x:0:\nstaff:x:50:app\n")
  const user = (spec: string) => resolveExecUserSpec(spec, passwd, groups)

  it("a name or a listed uid takes the entry; a group part overrides its gid", () => {
    expect(user("app")).toEqual(Result.succeed(expect.objectContaining({ uid: 1001, gid: 1002, home: "/home/app" })))
    expect(user("1001:staff")).toEqual(Result.succeed(expect.objectContaining({ uid: 1001, gid: 50 })))
  })

  it("a uid with no entry runs as itself with gid 0 (or the given group) and HOME /", () => {
    expect(user("4321")).toEqual(Result.succeed(expect.objectContaining({ uid: 4321, gid: 0, home: "/" })))
    expect(user("4321:staff")).toEqual(Result.succeed(expect.objectContaining({ uid: 4321, gid: 50 })))
    expect(user("4321:77")).toEqual(Result.succeed(expect.objectContaining({ uid: 4321, gid: 77 })))
  })

  it("an unknown name or group is an error", () => {
    expect(failure(user("nobody-here"))).toContain("unable to find user nobody-here")
    expect(failure(user("4321:nogroup-here"))).toContain("unable to find group nogroup-here")
  })
})
