/*
 * The checks of scripts/container-test.sh against real containers of the built image: the devkit's OAuth2
 * server and AgentService on this host, reachable from the container through the podman bridge's gateway,
 * and clawkerd-cp (dist/programs/cp.js) as the control plane, dialling the container's published port on
 * loopback. Every check prints what it measured; any failed check fails the run, after all have run.
 * The same checks serve the project's Dockerfile (--kind dockerfile: node runs dist/programs/bin.js), agent
 * images that carry only the single binary (--kind binary: scripts/agent-image.Dockerfile), and one laid out as
 * the platform's bundler lays them out (--kind platform: scripts/platform-image.Dockerfile), run as the platform
 * runs it: with a TTY, the bootstrap copied in before start, the image's own CMD.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { startAgentService } from "../devkit/agentService.js"
import { mintAssertion, newAssertionSigner } from "../devkit/assertion.js"
import { writeBootstrapDir } from "../devkit/bootstrapDir.js"
import { startOAuthServer } from "../devkit/oauthServer.js"
import { agentCommonName, mintDeployment } from "../devkit/pki.js"
import { DEFAULT_BOOTSTRAP_DIR, DEFAULT_INIT_MARKER, DEFAULT_LOG_DIR } from "../src/lib/constants.js"
import { NODE_FLAGS } from "../src/programs/nodeFlags.js"

const { values: opts } = parseArgs({
  options: {
    image: { type: "string" },
    label: { type: "string" },
    "cgroup-parent": { type: "string" },
    work: { type: "string" },
    kind: { type: "string", default: "dockerfile" },
    /** Prefix of the containers' names, one per run of these checks. */
    name: { type: "string", default: "clawkerd" },
    /** What `node --version` prints for the user CMD (a prefix), or "none" when there is no node on its PATH. */
    "user-node": { type: "string" }
  }
})
const need = (name: keyof typeof opts): string => {
  const value = opts[name]
  if (value === undefined) throw new Error(`--${name} is required`)
  return value
}
const image = need("image")
const label = need("label")
const cgroupParent = need("cgroup-parent")
const work = need("work")
const userNode = need("user-node")
const prefix = need("name")
const kind = need("kind")
if (kind !== "dockerfile" && kind !== "binary" && kind !== "platform") {
  throw new Error(`--kind ${kind}: dockerfile, binary or platform`)
}

const repoRoot = path.resolve(import.meta.dirname, "..")
const AGENT = "ctest"
const PROJECT = "demo"
const CONTAINER_ID = "c0ffee000001"
const USER = { name: "clawker", uid: 1001, gid: 1001, home: "/home/clawker" }
/** podman's own stop timeout in these checks; clawkerd's grace (10 s) is well inside it. */
const PODMAN_STOP_TIMEOUT_S = 30
/**
 * The user CMD (scripts/container-agent.sh): who and where it is, the node its PATH finds, its environment as
 * exec'd, each SIGUSR1. The platform-layout image has it as its own CMD (`agent`, on the user's ~/.local/bin).
 */
const USER_CMD = kind === "platform"
  ? []
  : ["sh", "-c", fs.readFileSync(path.join(import.meta.dirname, "container-agent.sh"), "utf8")]
/** What the platform's images set for the agent: it reaches the user CMD as it is (platform-image.Dockerfile). */
const AGENT_VARIABLES = [
  "NODE_USE_SYSTEM_CA",
  "UV_PYTHON_INSTALL_DIR",
  "NODE_OPTIONS",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_METRICS_EXPORTER",
  "SSL_CERT_FILE"
]

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly seconds: number
}

/** No single podman or clawkerd-cp call may take longer: a hung one fails its check instead of the whole CI. */
const CALL_TIMEOUT_MS = 120_000
/** A check run that outlives this fails as a whole; CI's own budget is far larger. */
const RUN_TIMEOUT_MS = 15 * 60_000
/** Closing the devkit servers and relays may not hold the run open. */
const CLOSE_TIMEOUT_MS = 5_000

const exec = (file: string, args: ReadonlyArray<string>, env?: NodeJS.ProcessEnv): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: env ?? process.env,
      timeout: CALL_TIMEOUT_MS,
      killSignal: "SIGKILL"
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (b) => (stdout += b))
    child.stderr.on("data", (b) => (stderr += b))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }))
  })

const podman = (...args: ReadonlyArray<string>) => exec("podman", args)

/** podman's stderr without the line it prints when there is no systemd to schedule healthchecks. */
const podmanErrors = (stderr: string) =>
  stderr.split("\n").filter((l) => l.trim() !== "" && !(l.startsWith("time=") && l.includes("systemd"))).join("\n")

const podmanOk = async (...args: ReadonlyArray<string>): Promise<string> => {
  const r = await podman(...args)
  if (r.code !== 0) throw new Error(`podman ${args.join(" ")}: exit ${r.code}: ${podmanErrors(r.stderr)}`)
  return r.stdout
}

const poll = async <A>(what: string, attempt: () => Promise<A | undefined>, seconds = 60): Promise<A> => {
  const deadline = performance.now() + seconds * 1000
  for (;;) {
    const value = await attempt()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`no ${what} within ${seconds} s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

class CheckFailed extends Error {}
const expectThat = (ok: boolean, message: string) => {
  if (!ok) throw new CheckFailed(message)
}

interface Result {
  readonly name: string
  readonly ok: boolean
  readonly measured: string
  readonly seconds: number
}
const results: Array<Result> = []

/** Runs one check; its function returns what it measured. A failure is recorded and the run goes on. */
const check = async (name: string, body: () => Promise<string>) => {
  const started = performance.now()
  let ok = true
  let measured: string
  try {
    measured = await body()
  } catch (e) {
    ok = false
    measured = e instanceof Error ? e.message : String(e)
  }
  const seconds = (performance.now() - started) / 1000
  results.push({ name, ok, measured, seconds })
  console.log(`${ok ? "PASS" : "FAIL"} ${name} (${seconds.toFixed(1)} s): ${measured}`)
}

/** Names carry the run's label value: a container another run left behind never blocks this one. */
const containerName = (role: string) => `${prefix}-${role}-${label.split("=").pop()}`
const runFlags = (role: string) => ["--name", containerName(role), "--label", label, "--cgroup-parent", cgroupParent]

/**
 * A TCP relay from the podman bridge's gateway to a devkit server, which listens on loopback only. Closing it
 * destroys the connections it relays: one whose container went away with its network never ends by itself.
 */
const relay = (host: string, port: number) =>
  new Promise<() => Promise<void>>((resolve, reject) => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((inbound) => {
      const outbound = net.connect(port, "127.0.0.1")
      for (const socket of [inbound, outbound]) {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      }
      inbound.pipe(outbound).pipe(inbound)
      inbound.on("error", () => outbound.destroy())
      outbound.on("error", () => inbound.destroy())
    })
    server.once("error", reject)
    server.listen(port, host, () =>
      resolve(() =>
        new Promise<void>((closed) => {
          server.close(() => closed())
          for (const socket of sockets) socket.destroy()
        })
      ))
  })

/** Runs a closer, giving up (with a line saying so) after CLOSE_TIMEOUT_MS. */
const closeWithin = async (close: () => Promise<void> | void) => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), CLOSE_TIMEOUT_MS)))
  const outcome = await Promise.race([Promise.resolve(close()).then(() => "closed" as const), late])
  clearTimeout(timer)
  if (outcome === "late") console.log(`container checks: a devkit server did not close within ${CLOSE_TIMEOUT_MS} ms`)
}

const bridgeGateway = async (): Promise<string> => {
  const [network] = JSON.parse(await podmanOk("network", "inspect", "podman")) as Array<
    { subnets?: Array<{ gateway?: string }> }
  >
  const gateway = network?.subnets?.[0]?.gateway
  if (gateway === undefined) throw new Error("the podman network has no gateway")
  return gateway
}

const healthy = async (name: string) => (await podman("healthcheck", "run", name)).code === 0

const run = async (): Promise<number> => {
  const closers: Array<() => Promise<void> | void> = []
  try {
    const imageConfig = JSON.parse(await podmanOk("image", "inspect", "--format", "{{json .Config}}", image)) as {
      WorkingDir: string
    }

    await check("no bootstrap: exit 2 and one configuration error line", async () => {
      const r = await podman("run", "--rm", ...runFlags("nobootstrap"), "-e", `CLAWKER_AGENT=${AGENT}`, image)
      const stderr = podmanErrors(r.stderr)
      const lines = stderr.split("\n")
      expectThat(r.code === 2, `exit ${r.code}, stderr: ${stderr}`)
      expectThat(
        lines.length === 1 && lines[0]!.startsWith("clawkerd: configuration error: "),
        `stderr is not one configuration error line: ${JSON.stringify(stderr)}`
      )
      return `exit 2 after ${r.seconds.toFixed(1)} s; stderr: ${lines[0]}`
    })

    if (kind === "dockerfile") {
      await check("file modes in the image", async () => {
        const dirs = ["/run/clawker", "/var/run/clawker", DEFAULT_BOOTSTRAP_DIR, DEFAULT_LOG_DIR, "/var/lib/clawker"]
        const stat = await podmanOk(
          "run",
          "--rm",
          ...runFlags("modes"),
          "--entrypoint",
          "stat",
          image,
          "-L",
          "-c",
          "%n %a %U:%G",
          ...dirs
        )
        const wrong = stat.trim().split("\n").filter((l) => !l.endsWith(" 700 root:root"))
        expectThat(wrong.length === 0, `not 0700 root:root: ${wrong.join("; ")}`)
        const asUser = await podmanOk(
          "run",
          "--rm",
          ...runFlags("modes-user"),
          "--user",
          USER.name,
          "--entrypoint",
          "sh",
          image,
          "-c",
          `for d in ${dirs.join(" ")}; do ls "$d" >/dev/null 2>&1 && echo "$d"; done; true`
        )
        expectThat(asUser.trim() === "", `listable by ${USER.name}: ${asUser.trim()}`)
        return `${stat.trim().split("\n").join(", ")}; none listable by ${USER.name}`
      })
    }

    // The bridge (and its gateway address on this host) exists once a container has used it.
    const gateway = await bridgeGateway()
    const deployment = await mintDeployment(AGENT, PROJECT, CONTAINER_ID)
    const signer = await newAssertionSigner()
    const oauth = await startOAuthServer({
      serverCert: deployment.cpServer,
      clientJwk: signer.publicJwk,
      host: gateway
    })
    closers.unshift(() => oauth.close())
    const agentService = await startAgentService({
      deployment,
      verifyToken: (token) => oauth.verifyAccessToken(token)
    })
    closers.unshift(() => agentService.close())
    for (const port of [oauth.port, agentService.port]) {
      closers.unshift(await relay(gateway, port))
    }
    const bootstrap = path.join(work, "bootstrap")
    await writeBootstrapDir(bootstrap, deployment, await mintAssertion(signer, oauth.tokenEndpoint))
    const cpDir = path.join(work, "cp")
    fs.mkdirSync(cpDir, { mode: 0o700 })
    const cpFiles = { ca: deployment.ca.certPem, cert: deployment.cpClient.certPem, key: deployment.cpClient.keyPem }
    for (const [name, pem] of Object.entries(cpFiles)) fs.writeFileSync(path.join(cpDir, `${name}.pem`), pem)

    const name = containerName("main")
    const env = [
      `CLAWKER_AGENT=${AGENT}`,
      `CLAWKER_PROJECT=${PROJECT}`,
      `CLAWKER_CP_HYDRA_URL=${oauth.url}`,
      `CLAWKER_CP_AGENT_ADDR=${gateway}:${agentService.port}`
    ].flatMap((e) => ["-e", e])
    if (kind === "platform") {
      // As the platform runs it: a TTY, and the bootstrap streamed into the created container before its start
      // (a tar whose first entry makes bootstrap/ 0700 root:root, holding 0400 root:root files).
      await podmanOk("create", "-t", ...runFlags("main"), "-p", "127.0.0.1::7700", ...env, image)
      const copy = await exec("sh", [
        "-c",
        `tar -C "$1" --numeric-owner --owner=0 --group=0 -cf - bootstrap | podman cp - "$2:${
          path.dirname(DEFAULT_BOOTSTRAP_DIR)
        }"`,
        "sh",
        work,
        name
      ])
      if (copy.code !== 0) throw new Error(`copying the bootstrap in: ${copy.stderr}`)
      await podmanOk("start", name)
    } else {
      await podmanOk(
        "run",
        "-d",
        ...runFlags("main"),
        "-p",
        "127.0.0.1::7700",
        ...env,
        "-v",
        `${bootstrap}:${DEFAULT_BOOTSTRAP_DIR}:ro`,
        image,
        ...USER_CMD
      )
    }
    // A TTY's output has CR LF line ends.
    const logs = async () => (await podmanOk("logs", name)).replace(/\r/g, "").split("\n")
    const cp = async (...args: ReadonlyArray<string>) => {
      const address = (await podmanOk("port", name, "7700/tcp")).trim().split("\n")[0]!
      return exec(process.execPath, [
        path.join(repoRoot, "dist/programs/cp.js"),
        "--agent-cn",
        agentCommonName(AGENT, PROJECT),
        ...args
      ], {
        ...process.env,
        CLAWKERD_CP_ADDR: address,
        CLAWKERD_CP_CA: path.join(cpDir, "ca.pem"),
        CLAWKERD_CP_CERT: path.join(cpDir, "cert.pem"),
        CLAWKERD_CP_KEY: path.join(cpDir, "key.pem")
      })
    }
    const cpOk = async (...args: ReadonlyArray<string>) => {
      const r = await cp(...args)
      if (r.code !== 0) throw new CheckFailed(`clawkerd-cp ${args.join(" ")}: exit ${r.code}: ${r.stdout}${r.stderr}`)
      return r.stdout.trim()
    }
    const firstHello = () =>
      poll("HelloAck from the container", async () => {
        const r = await cp("hello")
        return r.code === 0 ? r : undefined
      })

    await check("clawkerd is PID 1", async () => {
      await firstHello()
      const argv = (await podmanOk("exec", name, "cat", "/proc/1/cmdline")).split("\0").filter((a) => a !== "")
      // PID 1 is not dumpable: only with CAP_SYS_PTRACE (a privileged exec) is its exe link readable.
      const exe = (await podmanOk("exec", "--privileged", name, "readlink", "/proc/1/exe")).trim()
      // The project's image runs `node <PID 1's flags> /usr/local/bin/clawkerd` (the bin.js link); an agent
      // image the binary.
      const expected = kind === "dockerfile"
        ? exe === "/usr/local/bin/node" && argv[1 + NODE_FLAGS.length] === "/usr/local/bin/clawkerd" &&
          NODE_FLAGS.every((flag, i) => argv[1 + i] === flag)
        : exe === "/usr/local/bin/clawkerd" && argv[0] === "/usr/local/bin/clawkerd"
      expectThat(expected, `/proc/1/cmdline: ${argv.join(" ")}; /proc/1/exe: ${exe}`)
      return `/proc/1/cmdline: ${argv.slice(0, 3).join(" ")} …; /proc/1/exe: ${exe}`
    })

    if (kind === "platform") {
      await check(
        "the platform's layout: /run/clawker the agent user's, the bootstrap copied in 0700/0400 root",
        async () => {
          const stat = await podmanOk(
            "exec",
            name,
            "stat",
            "-L",
            "-c",
            "%n %a %U:%G",
            "/var/run/clawker",
            "/run/clawker",
            DEFAULT_BOOTSTRAP_DIR,
            `${DEFAULT_BOOTSTRAP_DIR}/key.pem`
          )
          const lines = stat.trim().split("\n")
          expectThat(
            JSON.stringify(lines) === JSON.stringify([
              `/var/run/clawker 755 ${USER.name}:${USER.name}`,
              `/run/clawker 755 ${USER.name}:${USER.name}`,
              `${DEFAULT_BOOTSTRAP_DIR} 700 root:root`,
              `${DEFAULT_BOOTSTRAP_DIR}/key.pem 400 root:root`
            ]),
            `stat: ${lines.join("; ")}`
          )
          return lines.join(", ")
        }
      )

      await check("a stage before AgentReady configures the terminal in the foreground (no SIGTTOU stop)", async () => {
        const out = await cpOk(
          "exec",
          "--timeout",
          "30",
          "--",
          "sh",
          "-c",
          "stty sane </dev/tty && set -- $(cut -d' ' -f5,8 /proc/$$/stat) && echo \"tty-ok pgid=$1 tpgid=$2\""
        )
        const [, pgid, tpgid] = /^tty-ok pgid=(\d+) tpgid=(\d+)$/.exec(out) ?? []
        expectThat(pgid !== undefined && pgid === tpgid, `the stage printed ${JSON.stringify(out)}`)
        return out
      })
    }

    await check("HEALTHCHECK unhealthy before AgentReady", async () => {
      expectThat(!(await healthy(name)), "healthy before AgentReady")
      return "podman healthcheck run: unhealthy"
    })

    await check(
      "CP lifecycle over the bridge: Hello → RegisterRequired → init step → AgentInitialized → AgentReady",
      async () => {
        const steps: Array<string> = []
        steps.push(await cpOk("hello"))
        expectThat(steps[0]!.includes("initialized=false"), `first Hello: ${steps[0]}`)
        steps.push(await cpOk("register"))
        const call = agentService.calls.at(-1)
        expectThat(
          agentService.calls.length === 1 && call?.tokenValid === true && call.answered === "welcome" &&
            call.uriSan === `urn:clawker:container:${CONTAINER_ID}`,
          `AgentService saw ${JSON.stringify(agentService.calls)}`
        )
        const init = await cpOk(
          "exec",
          "--user",
          `${USER.uid}:${USER.gid}`,
          "-w",
          USER.home,
          "--",
          "sh",
          "-c",
          "echo \"init step as $(id -u) in $(pwd)\""
        )
        expectThat(init === `init step as ${USER.uid} in ${USER.home}`, `init step printed ${JSON.stringify(init)}`)
        steps.push(init)
        steps.push(await cpOk("init-done"))
        await podmanOk("exec", name, "test", "-f", DEFAULT_INIT_MARKER)
        steps.push(await cpOk("ready"))
        return `${
          steps.join(" → ")
        }; token requests ${oauth.requests.length}, Register calls ${agentService.calls.length} (token valid)`
      }
    )

    await check("user CMD as clawker, in the image's WORKDIR, with the image's environment", async () => {
      const cmd = await poll("user CMD output", async () => (await logs()).find((l) => l.startsWith("cmd ")))
      const expected = `cmd uid=${USER.uid} user=${USER.name} cwd=${imageConfig.WorkingDir}`
      expectThat(cmd === expected, `${cmd} (expected ${expected})`)
      const node = (await logs()).find((l) => l.startsWith("node "))?.slice(5) ?? "no line"
      expectThat(
        userNode === "none" ? node === "none" : node.startsWith(userNode),
        `node --version in the user CMD: ${node} (expected ${userNode === "none" ? "no node on its PATH" : userNode})`
      )
      const env = (await logs()).filter((l) => l.startsWith("env ")).map((l) => l.slice(4)).sort()
      const container = JSON.parse(await podmanOk("inspect", "--format", "{{json .Config.Env}}", name)) as Array<string>
      // The spec's environment: clawkerd's own (the container's), HOME/USER/LOGNAME replaced by the user's.
      const wanted = [
        ...container.filter((e) => !/^(HOME|USER|LOGNAME)=/.test(e)),
        `USER=${USER.name}`,
        `LOGNAME=${USER.name}`,
        `HOME=${USER.home}`
      ].sort()
      expectThat(JSON.stringify(env) === JSON.stringify(wanted), `env ${env.join(" ")} (expected ${wanted.join(" ")})`)
      const agents = kind === "platform" ? AGENT_VARIABLES : []
      const missing = agents.filter((variable) => !env.some((e) => e.startsWith(`${variable}=`)))
      expectThat(missing.length === 0, `the image's ${missing.join(", ")} did not reach the user CMD`)
      return `${cmd}; node on its PATH: ${node}; env = the container's with USER/LOGNAME/HOME of ${USER.name} (${env.length} variables${
        agents.length > 0 ? `, ${agents.join(", ")} among them` : ""
      })`
    })

    await check("HEALTHCHECK healthy after AgentReady", async () => {
      expectThat(await healthy(name), "unhealthy after AgentReady")
      return "podman healthcheck run: healthy"
    })

    await check("the log dir is not readable by clawker", async () => {
      const asUser = await podman("exec", "--user", USER.name, name, "cat", `${DEFAULT_LOG_DIR}/clawkerd.log`)
      expectThat(asUser.code !== 0, "clawker read clawkerd.log")
      const boot = (await podmanOk("exec", name, "cat", `${DEFAULT_LOG_DIR}/clawkerd.log`))
        .split("\n").find((l) => l.includes("\"event\":\"boot\""))
      const version = boot === undefined ? "no boot event" : `boot event version ${JSON.parse(boot).version}`
      return `cat as clawker: exit ${asUser.code} (${asUser.stderr.trim()}); read as root: ${version}`
    })

    await check("an orphan started by podman exec is reaped by PID 1", async () => {
      const pid = (await podmanOk("exec", name, "sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!")).trim()
      const stat = async () => {
        const r = await podman("exec", name, "cat", `/proc/${pid}/stat`)
        return r.code === 0 ? r.stdout.slice(r.stdout.lastIndexOf(")") + 2).split(" ") : undefined
      }
      const before = await poll("the orphan's stat", stat, 10)
      expectThat(before[1] === "1", `orphan ${pid}: state ${before[0]}, PPID ${before[1]}`)
      // The shell's kill: an agent image need not have procps.
      await podmanOk("exec", name, "sh", "-c", `kill ${pid}`)
      const states: Array<string> = []
      await poll("the orphan reaped", async () => {
        const now = await stat()
        if (now === undefined) return true
        states.push(now[0]!)
        return undefined
      }, 15)
      return `orphan pid ${pid} had PPID 1; after kill it left /proc (states seen meanwhile: ${
        states.join(",") || "none"
      })`
    })

    await check("podman kill -s USR1 reaches the user CMD", async () => {
      const count = async () => (await logs()).filter((l) => l === "got USR1").length
      const before = await count()
      await podmanOk("kill", "-s", "USR1", name)
      await poll("the user CMD's USR1 trap", async () => ((await count()) > before ? true : undefined), 15)
      // Node's inspector port (9229 = 0x2405) in LISTEN (0A) anywhere in the container's network namespace.
      const tcp = await podmanOk("exec", name, "cat", "/proc/1/net/tcp", "/proc/1/net/tcp6")
      expectThat(!/:2405 \S+ 0A /.test(tcp), "something listens on the inspector port 9229")
      return "the user CMD's trap printed \"got USR1\"; nothing listens on 9229"
    })

    await check("after podman restart: unhealthy until the next AgentReady", async () => {
      await podmanOk("restart", "-t", String(PODMAN_STOP_TIMEOUT_S), name)
      const afterRestart = await healthy(name)
      const hello = (await firstHello()).stdout.trim()
      const stillBefore = await healthy(name)
      // AgentReady in any case: the stop check below needs the user CMD running.
      await cpOk("ready")
      const afterReady = await healthy(name)
      expectThat(hello.includes("initialized=true"), `Hello after restart: ${hello}`)
      // The platform's HEALTHCHECK only tests that the file is there: until clawkerd booted and removed the
      // previous run's file, it answers healthy (the reference's quirk); ours compares PID 1's start time.
      expectThat(
        (kind === "platform" || !afterRestart) && !stillBefore,
        `healthy before AgentReady (right after restart: ${afterRestart}, after Hello: ${stillBefore})`
      )
      expectThat(afterReady, "unhealthy after the restarted container's AgentReady")
      return `unhealthy right after restart and after Hello (${hello}); healthy after AgentReady`
    })

    await check("podman stop → 143 well inside the grace", async () => {
      const r = await podman("stop", "-t", String(PODMAN_STOP_TIMEOUT_S), name)
      const code = (await podmanOk("inspect", "--format", "{{.State.ExitCode}}", name)).trim()
      expectThat(r.code === 0 && code === "143", `podman stop exit ${r.code}, container exit ${code}`)
      // Half the 10 s grace: a child that ignored SIGTERM would take the whole grace, then 137.
      expectThat(r.seconds < 5, `podman stop took ${r.seconds.toFixed(1)} s`)
      return `exit 143 after ${r.seconds.toFixed(1)} s (clawkerd's grace 10 s, podman's ${PODMAN_STOP_TIMEOUT_S} s)`
    })
  } finally {
    for (const close of closers) await closeWithin(close)
  }
  const failed = results.filter((r) => !r.ok)
  console.log(`container checks: ${results.length - failed.length} passed, ${failed.length} failed`)
  return failed.length === 0 ? 0 : 1
}

setTimeout(() => {
  console.error(`container checks: not done within ${RUN_TIMEOUT_MS / 60_000} min; failing the run`)
  process.exit(1)
}, RUN_TIMEOUT_MS).unref()

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`container checks: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exit(1)
  }
)
