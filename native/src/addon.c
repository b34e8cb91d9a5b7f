/*
 * The reaper addon: the few syscalls Node does not expose. Each function does one syscall and
 * reports errno as a JS Error with `code` set, so callers can tell ESRCH from EPERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "hardening.h"

static const char *errno_name(int e) {
  switch (e) {
    case ECHILD: return "ECHILD";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case ENOTTY: return "ENOTTY";
    case EBADF: return "EBADF";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EINTR: return "EINTR";
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, const char *syscall, int e) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", syscall, strerror(e));
  napi_throw_error(env, errno_name(e), message);
  return NULL;
}

static int int_arg(napi_env env, napi_callback_info info, size_t count, int32_t *out) {
  size_t argc = count;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) {
    napi_throw_type_error(env, NULL, "missing integer argument");
    return -1;
  }
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_int32(env, argv[i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "argument must be an integer");
      return -1;
    }
  }
  return 0;
}

static napi_value make_int(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

/* prctl(PR_SET_CHILD_SUBREAPER): orphans of our descendants are reparented to us, not to PID 1. */
static napi_value set_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return throw_errno(env, "prctl", errno);
  napi_value t;
  napi_get_boolean(env, true, &t);
  return t;
}

/*
 * waitpid(pid, WNOHANG) for exactly one pid; never -1 or a group, which would steal statuses
 * libuv waits for. Returns null while it runs, else { pid, code, signal } (one of them null).
 */
static napi_value reap(napi_env env, napi_callback_info info) {
  int32_t pid;
  if (int_arg(env, info, 1, &pid) != 0) return NULL;
  if (pid <= 0) {
    napi_throw_range_error(env, NULL, "reap: pid must be positive");
    return NULL;
  }
  int status = 0;
  pid_t r;
  do r = waitpid(pid, &status, WNOHANG); while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, "waitpid", errno);
  napi_value out, nul;
  napi_get_null(env, &nul);
  if (r == 0) return nul;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "pid", make_int(env, r));
  napi_set_named_property(env, out, "code", WIFEXITED(status) ? make_int(env, WEXITSTATUS(status)) : nul);
  napi_set_named_property(env, out, "signal", WIFSIGNALED(status) ? make_int(env, WTERMSIG(status)) : nul);
  return out;
}

/*
 * waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT): the pid of one child that has exited, without
 * reaping it (0 when there is none). The caller decides whether that pid is its own to reap with
 * reap(pid) or libuv's to leave alone; it costs one syscall per zombie instead of a /proc scan.
 */
static napi_value waitable_child(napi_env env, napi_callback_info info) {
  (void)info;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  do r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT); while (r < 0 && errno == EINTR);
  if (r < 0 && errno != ECHILD) return throw_errno(env, "waitid", errno);
  return make_int(env, r < 0 ? 0 : si.si_pid);
}

/*
 * SIGTTIN and SIGTTOU set to SIG_IGN. A Node listener is not the same thing: the tty driver lets a
 * background process write (or tcsetpgrp) only when SIGTTOU is ignored or blocked. With a handler
 * installed, or with the default action in a PID namespace's init (where the kernel drops it), the
 * driver signals the group and restarts the call, forever. libuv resets both to SIG_DFL in every
 * child it spawns, so the ignore never leaks to the user CMD or to shell stages.
 */
static napi_value ignore_tty_stops(napi_env env, napi_callback_info info) {
  (void)info;
  struct sigaction ignore;
  memset(&ignore, 0, sizeof ignore);
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  if (sigaction(SIGTTIN, &ignore, NULL) != 0) return throw_errno(env, "sigaction(SIGTTIN)", errno);
  if (sigaction(SIGTTOU, &ignore, NULL) != 0) return throw_errno(env, "sigaction(SIGTTOU)", errno);
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* pipe2(O_CLOEXEC): [readFd, writeFd]. Close-on-exec so no other child inherits an end by accident. */
static napi_value make_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return throw_errno(env, "pipe2", errno);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, make_int(env, fds[0]));
  napi_set_element(env, out, 1, make_int(env, fds[1]));
  return out;
}

/* tcgetpgrp(fd): the terminal's foreground process group. */
static napi_value tc_get_pgrp(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (int_arg(env, info, 1, &fd) != 0) return NULL;
  pid_t pg = tcgetpgrp(fd);
  if (pg < 0) return throw_errno(env, "tcgetpgrp", errno);
  return make_int(env, pg);
}

/* tcsetpgrp(fd, pgid) with SIGTTOU blocked: a background caller may take the foreground back. */
static napi_value tc_set_pgrp(napi_env env, napi_callback_info info) {
  int32_t args[2];
  if (int_arg(env, info, 2, args) != 0) return NULL;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  int r = tcsetpgrp(args[0], args[1]);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) return throw_errno(env, "tcsetpgrp", e);
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* getpgrp(): clawkerd's own process group, to take the terminal back. */
static napi_value get_pgrp(napi_env env, napi_callback_info info) {
  (void)info;
  return make_int(env, getpgrp());
}

/*
 * malloc_trim(0): hands the heap memory glibc keeps after frees back to the kernel. OpenSSL and
 * nghttp2 allocate per connection through malloc; after Sessions came and went, that memory stays
 * in clawkerd's RSS until trimmed. Not glibc (musl): nothing to trim, false.
 */
static napi_value trim_malloc(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
#ifdef __GLIBC__
  napi_get_boolean(env, malloc_trim(0) == 1, &result);
#else
  napi_get_boolean(env, false, &result);
#endif
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"setChildSubreaper", NULL, set_child_subreaper, NULL, NULL, NULL, napi_enumerable, NULL},
    {"reap", NULL, reap, NULL, NULL, NULL, napi_enumerable, NULL},
    {"waitableChild", NULL, waitable_child, NULL, NULL, NULL, napi_enumerable, NULL},
    {"ignoreTtyStops", NULL, ignore_tty_stops, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pipe", NULL, make_pipe, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tcgetpgrp", NULL, tc_get_pgrp, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tcsetpgrp", NULL, tc_set_pgrp, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getpgrp", NULL, get_pgrp, NULL, NULL, NULL, napi_enumerable, NULL},
    {"trimMalloc", NULL, trim_malloc, NULL, NULL, NULL, napi_enumerable, NULL},
    {"hardenSelf", NULL, harden_self, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
