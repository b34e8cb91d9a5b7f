/*
 * clawkerd-exec: what Node's spawn cannot do for the user CMD, done between fork and exec.
 * clawkerd spawns this shim (posix_spawn, reaped by pid); the shim then becomes the program.
 *
 *   clawkerd-exec [--setpgid | --pgid N] [--foreground] [--user UID:GID[:G1,G2,...]]
 *                 [--core-soft N|unlimited] [--status-fd N] [--file PATH] -- ARGV0 ARGS...
 *
 * --setpgid     own process group (pgid = pid), so signals can go to the whole group
 * --pgid        join process group N instead (a pipeline's later stages join the first one's)
 * --foreground  make that group the foreground group of the controlling terminal (stdin when it is
 *               one, else /dev/tty: a ShellCommand stage's stdin is a pipe)
 * --user        setgroups(G...), setresgid(GID), setresuid(UID), in that order, then verified
 * --core-soft   RLIMIT_CORE soft limit for the program: clawkerd set its own to 0, this is the old one
 * --status-fd   close-on-exec pipe: on failure the shim writes "<step>:<errno>\n" there, so the
 *               parent can tell "exec failed" from "the program exited 127"
 * --file        the program file to execve, found by clawkerd on its own PATH (default: ARGV0 as a path).
 *               Never execvp: it would search the child's PATH, and run a file without a #! line
 *               through /bin/sh (ENOEXEC) where the reference fails the start ("exec format error")
 *
 * Whatever the options, only fds 0, 1 and 2 reach the program: every fd >= 3 is close-on-exec.
 *
 * Exit codes on failure follow the shells: 127 program not found, 126 not executable, 125 setup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>
#include "cloexec.h"

#define MAX_GROUPS 1024

static int status_fd = -1;
static const char *program = "";

/* With a status fd the parent logs the failure; stderr is the user's terminal, so it stays quiet. */
static void fail(const char *step, int err, int code) {
  if (status_fd >= 0) dprintf(status_fd, "%s:%d\n", step, err);
  else fprintf(stderr, "clawkerd-exec: %s \"%s\": %s\n", step, program, strerror(err));
  _exit(code);
}

static long parse_id(const char *text, const char *what) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  /* Through fail(): a bad uid must reach the status pipe, or the parent would take it for a start. */
  if (errno != 0 || end == text || *end != '\0' || v < 0 || v > 0x7fffffffL) fail(what, EINVAL, 125);
  return v;
}

static void restore_core_limit(const char *text) {
  struct rlimit core;
  if (getrlimit(RLIMIT_CORE, &core) != 0) fail("getrlimit core", errno, 125);
  if (strcmp(text, "unlimited") == 0) {
    core.rlim_cur = RLIM_INFINITY;
  } else {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') fail("core limit", EINVAL, 125);
    core.rlim_cur = (rlim_t)v;
  }
  if (setrlimit(RLIMIT_CORE, &core) != 0) fail("setrlimit core", errno, 125);
}

static void drop_privileges(char *spec) {
  char *uid_text = strtok(spec, ":");
  char *gid_text = strtok(NULL, ":");
  char *groups_text = strtok(NULL, ":");
  if (uid_text == NULL || gid_text == NULL) fail("user spec", EINVAL, 125);
  uid_t uid = (uid_t)parse_id(uid_text, "uid");
  gid_t gid = (gid_t)parse_id(gid_text, "gid");
  gid_t groups[MAX_GROUPS];
  size_t n = 0;
  if (groups_text != NULL) {
    for (char *g = strtok(groups_text, ","); g != NULL; g = strtok(NULL, ",")) {
      if (n == MAX_GROUPS) fail("setgroups", E2BIG, 125);
      groups[n++] = (gid_t)parse_id(g, "group");
    }
  }
  if (setgroups(n, groups) != 0) fail("setgroups", errno, 125);
  if (setresgid(gid, gid, gid) != 0) fail("setresgid", errno, 125);
  if (setresuid(uid, uid, uid) != 0) fail("setresuid", errno, 125);
  /* A privilege drop that silently did not happen is the worst outcome: check it. */
  uid_t r, e, s;
  gid_t rg, eg, sg;
  if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid) fail("verify uid", EPERM, 125);
  if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid) fail("verify gid", EPERM, 125);
  if (uid != 0 && setuid(0) == 0) fail("verify uid drop", EPERM, 125);
}

static void take_foreground(void) {
  int tty = STDIN_FILENO;
  if (!isatty(tty)) {
    tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0) return;
  }
  /* We are a background group now; without ignoring SIGTTOU, tcsetpgrp would stop us. */
  struct sigaction ignore = {0}, old;
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGTTOU, &ignore, &old);
  if (tcsetpgrp(tty, getpgrp()) != 0) fail("tcsetpgrp", errno, 125);
  sigaction(SIGTTOU, &old, NULL);
  if (tty != STDIN_FILENO) close(tty);
}

static void reset_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction dfl = {0};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, NULL); /* EINVAL for the few reserved real-time signals is harmless */
  }
}

int main(int argc, char **argv) {
  int setpgid_flag = 0, foreground = 0;
  char *join_pgid = NULL;
  char *user = NULL, *core_soft = NULL, *file = NULL;
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else if (strcmp(argv[i], "--setpgid") == 0) {
      setpgid_flag = 1;
    } else if (strcmp(argv[i], "--pgid") == 0 && i + 1 < argc) {
      join_pgid = argv[++i];
    } else if (strcmp(argv[i], "--foreground") == 0) {
      foreground = 1;
    } else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
      user = argv[++i];
    } else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
      file = argv[++i];
    } else if (strcmp(argv[i], "--core-soft") == 0 && i + 1 < argc) {
      core_soft = argv[++i];
    } else if (strcmp(argv[i], "--status-fd") == 0 && i + 1 < argc) {
      status_fd = (int)parse_id(argv[++i], "status fd");
      if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) != 0) {
        status_fd = -1;
        fail("status fd", errno, 125);
      }
    } else {
      fprintf(stderr, "clawkerd-exec: unknown option \"%s\"\n", argv[i]);
      return 125;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "clawkerd-exec: no program after --\n");
    return 125;
  }
  program = argv[i];
  if (setpgid_flag && setpgid(0, 0) != 0) fail("setpgid", errno, 125);
  if (join_pgid != NULL && setpgid(0, (pid_t)parse_id(join_pgid, "pgid")) != 0) fail("setpgid", errno, 125);
  if (foreground) take_foreground();
  if (core_soft != NULL) restore_core_limit(core_soft);
  if (user != NULL) drop_privileges(user);
  reset_signals();
  if (cloexec_from(3) != 0) fail("close-on-exec", errno, 125);
  execve(file != NULL ? file : argv[i], &argv[i], environ);
  int err = errno;
  fail("exec", err, err == ENOENT || err == ENOTDIR ? 127 : 126);
  return 125;
}
