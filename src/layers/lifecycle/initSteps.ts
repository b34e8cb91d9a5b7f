/**
 * Init steps are recognised from a ShellCommand's command_id: `init-<12-char container id>-<step>-<n>`
 * (spec session.md §6). The suffix after the last "-" is not checked.
 */
export const initStepOf = (commandId: string): string | undefined => {
  if (!commandId.startsWith("init-")) return undefined
  const rest = commandId.slice("init-".length)
  if (rest.length < 14) return undefined
  const tail = rest.slice(13)
  const dash = tail.lastIndexOf("-")
  return dash > 0 ? tail.slice(0, dash) : undefined
}

const LABELS: Record<string, readonly [active: string, done: string]> = {
  "docker-socket": ["Configuring Docker socket...", "Docker socket configured"],
  config: ["Seeding agent config...", "Agent config seeded"],
  git: ["Configuring git...", "Git configured"],
  "git-credentials": ["Configuring git credentials...", "Git credentials configured"],
  ssh: ["Configuring SSH known_hosts...", "SSH known_hosts configured"],
  "post-init": ["Running post-init...", "Post-init complete"],
  "pre-run": ["Running pre-run hook...", "Pre-run complete"],
  "agent-ready": ["Running agent command...", "Agent command running"]
}

export const activeLabel = (step: string): string => LABELS[step]?.[0] ?? `${step}...`
export const doneLabel = (step: string): string => LABELS[step]?.[1] ?? step
