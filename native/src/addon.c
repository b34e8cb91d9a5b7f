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
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
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
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EACCES: return "EACCES";
    case ENOMEM: return "ENOMEM";
    case EAGAIN: return "EAGAIN";
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
 * waitid(P_PID, pid, WEXITED | WNOHANG) for exactly one pid; never P_ALL or a group, which would
 * steal statuses libuv waits for. Returns null while it runs, else { pid, code, signal } (one of
 * them null). The status comes from siginfo, so a death by a real-time signal keeps its number
 * (Node's own exit event reports it as code 0).
 */
static napi_value reap(napi_env env, napi_callback_info info) {
  int32_t pid;
  if (int_arg(env, info, 1, &pid) != 0) return NULL;
  if (pid <= 0) {
    napi_throw_range_error(env, NULL, "reap: pid must be positive");
    return NULL;
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  do r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG); while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, "waitid", errno);
  napi_value out, nul;
  napi_get_null(env, &nul);
  if (si.si_pid == 0) return nul;
  int exited = si.si_code == CLD_EXITED;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "pid", make_int(env, si.si_pid));
  napi_set_named_property(env, out, "code", exited ? make_int(env, si.si_status) : nul);
  napi_set_named_property(env, out, "signal", exited ? nul : make_int(env, si.si_status));
  return out;
}

static char *string_of(napi_env env, napi_value value) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *text = malloc(length + 1);
  if (text == NULL) return NULL;
  napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

static void free_strings(char **list) {
  if (list == NULL) return;
  for (char **p = list; *p != NULL; p++) free(*p);
  free(list);
}

/* A JS array of strings as a NULL-terminated C array; NULL (with a pending JS error) on bad input. */
static char **strings_of(napi_env env, napi_value array) {
  uint32_t n = 0;
  if (napi_get_array_length(env, array, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an array of strings");
    return NULL;
  }
  char **list = calloc((size_t)n + 1, sizeof *list);
  if (list == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    napi_get_element(env, array, i, &item);
    if ((list[i] = string_of(env, item)) == NULL) {
      free_strings(list);
      napi_throw_type_error(env, NULL, "expected an array of strings");
      return NULL;
    }
  }
  return list;
}

#define MAX_CHILD_FDS 8

/*
 * posix_spawn(file, argv, env) with the child's fds 0..n-1 taken from `fds` (each through a high
 * temporary, so one mapping never clobbers the source of another), every signal at its default and
 * none blocked, and the working directory `cwd` ("" = ours). The child is nobody else's: libuv does
 * not know it, so only reap(pid) collects its status. A chdir or exec failure comes back as the
 * errno, not as a child that exits 127.
 */
static napi_value spawn_process(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 5) {
    napi_throw_type_error(env, NULL, "spawn(file, argv, env, fds, cwd)");
    return NULL;
  }
  int32_t fds[MAX_CHILD_FDS];
  uint32_t nfds = 0;
  if (napi_get_array_length(env, args[3], &nfds) != napi_ok || nfds > MAX_CHILD_FDS) {
    napi_throw_type_error(env, NULL, "spawn: fds must be an array of at most 8 fds");
    return NULL;
  }
  int32_t highest = (int32_t)nfds;
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value item;
    napi_get_element(env, args[3], i, &item);
    if (napi_get_value_int32(env, item, &fds[i]) != napi_ok || fds[i] < 0) {
      napi_throw_type_error(env, NULL, "spawn: fds must be non-negative integers");
      return NULL;
    }
    if (fds[i] > highest) highest = fds[i];
  }
  char *file = string_of(env, args[0]);
  char *cwd = string_of(env, args[4]);
  char **argv = strings_of(env, args[1]);
  char **envp = argv == NULL ? NULL : strings_of(env, args[2]);
  pid_t pid = -1;
  int err = ENOMEM;
  if (file != NULL && cwd != NULL && argv != NULL && envp != NULL) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    for (uint32_t i = 0; i < nfds; i++) posix_spawn_file_actions_adddup2(&actions, fds[i], highest + 1 + (int)i);
    for (uint32_t i = 0; i < nfds; i++) {
      posix_spawn_file_actions_adddup2(&actions, highest + 1 + (int)i, (int)i);
      posix_spawn_file_actions_addclose(&actions, highest + 1 + (int)i);
    }
    if (cwd[0] != '\0') posix_spawn_file_actions_addchdir_np(&actions, cwd);
    err = posix_spawn(&pid, file, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  free(file);
  free(cwd);
  free_strings(argv);
  free_strings(envp);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  if (err != 0) return throw_errno(env, "posix_spawn", err);
  return make_int(env, pid);
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
    {"spawn", NULL, spawn_process, NULL, NULL, NULL, napi_enumerable, NULL},
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
