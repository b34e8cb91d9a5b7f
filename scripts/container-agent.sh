#!/bin/sh
# The user CMD of the container checks (scripts/containerChecks.ts), and the agent CLI of the platform-layout
# image (scripts/platform-image.Dockerfile: ~/.local/bin/agent, its CMD): reports who and where it is, the
# node its PATH finds, its environment as exec'd, and each SIGUSR1; the sleep runs in the background so a
# trapped signal interrupts `wait` at once.
echo "cmd uid=$(id -u) user=$(id -un) cwd=$(pwd)"
echo "node $(node --version 2>/dev/null || echo none)"
tr '\0' '\n' < /proc/$$/environ | sed 's/^/env /'
trap 'echo got USR1' USR1
while :; do sleep 1 & wait $!; done
