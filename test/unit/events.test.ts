import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { EVENT_MESSAGES } from "../../src/lib/eventMessages.js"
import { repoRoot } from "../support/daemon.js"

/*
 * The log events operators grep, against the reference's (../shared/spec/supervisor-register-lifecycle.md
 * and session.md): every one the reference logs that clawkerd has a counterpart for is logged under the
 * reference's name (README "Log events and the reference" maps the few that cannot be), and every event of
 * clawkerd's carries a message of its own.
 */

const sources = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []
  )
const src = sources(path.join(repoRoot, "src")).filter((file) => !file.includes(`${path.sep}gen${path.sep}`))
const text = src.map((file) => fs.readFileSync(file, "utf8")).join("\n")

/** Events whose names a helper hands to the logger (the boot failures, the user CMD's group signals, ...). */
const INDIRECT = [
  "config_error",
  "resolve_user_failed",
  "bootstrap_read_failed",
  "clawkerd_listener_start_failed",
  "spawn_signal_forward_failed",
  "spawn_stop_sigterm_failed",
  "spawn_stop_sigkill_failed",
  "agent_initialized_marker_mkdir_failed",
  "agent_initialized_marker_write_failed",
  "register_dial_tls_failed",
  "register_dial_failed",
  "register_rpc_failed",
  "unhandled_rejection",
  "uncaught_exception",
  "grpc_log",
  "log_file_unavailable",
  "log_lines_dropped"
]

/** The event names clawkerd's source logs: `Log.<level>("name"` calls, and the indirect ones it names. */
const logged = new Set([
  ...[...text.matchAll(/Log\.(?:debug|info|warn|error)\(\s*"([a-z0-9_]+)"/g)].map((m) => m[1]!),
  ...INDIRECT.filter((event) => text.includes(`"${event}"`))
])

/** The reference's events with a counterpart in clawkerd, by the spec's sections. */
const REFERENCE = {
  boot: ["boot", "resolve_user_failed", "bootstrap_read_failed", "clawkerd_listener_started"],
  listener: ["clawkerd_listener_start_failed", "clawkerd_listener_serve_failed", "daemon_idle"],
  session: [
    "session_started",
    "session_ended",
    "session_eof",
    "session_recv_teardown",
    "session_recv_failed",
    "session_send_failed",
    "session_send_undelivered_on_teardown",
    "session_send_dropped_terminal",
    "session_send_dropped_chunk",
    "session_send_dropped_unknown",
    "session_sender_drain_timeout",
    "session_unknown_payload"
  ],
  commands: [
    "agent_initialized",
    "agent_initialized_marker_mkdir_failed",
    "agent_initialized_marker_write_failed",
    "agent_ready_unwired",
    "agent_ready_spawned",
    "agent_ready_already_spawned",
    "agent_ready_spawn_failed",
    "agent_ready_panic",
    "register_panic"
  ],
  shell: [
    "shell_command_started",
    "shell_command_done",
    "session_initial_stdin_write_failed",
    "session_close_stdin_failed",
    "session_signal_after_exit",
    "session_signal_forward_failed",
    "session_pipe_close_failed",
    "session_pipe_close_failed_suppressed",
    "shell_stage_reaper_panic",
    "command_exit_on_non_zero",
    "command_exit_on_non_zero_no_seam"
  ],
  spawn: [
    "spawn_argv_routed_to_default_cmd",
    "spawn_started",
    "spawn_ready_file_touch_failed",
    "spawn_signal_forward_failed",
    "spawn_signal_dropped_no_pgid",
    "spawn_stop_sigterm_failed",
    "spawn_stop_sigkill_failed",
    "spawn_stop_before_run",
    "spawn_main_reaped"
  ],
  reaping: [
    "spawn_orphan_reaped",
    "spawn_wait4_orphan_failed",
    "spawn_orphan_drain_timeout",
    "spawn_orphan_killed",
    "spawn_orphan_kill_failed",
    "spawn_orphan_drain_giveup"
  ],
  lifecycle: [
    "shutdown_signal_received",
    "shutdown_before_spawn",
    "main_child_exited",
    "listener_fatal_received",
    "command_requested_exit",
    "clawkerd_listener_stopping",
    "clawkerd_listener_stopped",
    "shutdown"
  ],
  register: [
    "register_env_missing",
    "token_exchange_attempt",
    "token_exchange_failed",
    "token_acquired",
    "register_dial",
    "register_dial_tls_failed",
    "register_dial_failed",
    "register_rpc_ok",
    "register_rpc_failed",
    "register_replay_short_circuit",
    "register_assertion_unconsumed"
  ]
}

describe("log events as the reference names them", () => {
  it.each(Object.entries(REFERENCE))("%s: every event of the reference's is logged under its name", (_, events) => {
    expect(events.filter((event) => !logged.has(event))).toEqual([])
  })

  it("no event under a name of our own where the reference has one", () => {
    const ours = ["supervisor_stop_sigterm", "supervisor_stop_sigkill", "orphan_reaped", "ready_file_touch_failed"]
    expect(ours.filter((event) => logged.has(event) || text.includes(`"${event}"`))).toEqual([])
  })

  it("every event clawkerd logs has a message of its own", () => {
    expect([...logged].filter((event) => !(event in EVENT_MESSAGES))).toEqual([])
  })
})
