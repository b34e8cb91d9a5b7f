/*
 * PID 1's own hardening at boot: it holds the agent's private key and runs next to code it does not
 * trust. Kept out of addon.c's syscall wrappers because it is one decision, taken once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include "cloexec.h"
#include "hardening.h"

static napi_value fail(napi_env env, const char *step, int e) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", step, strerror(e));
  napi_throw_error(env, NULL, message);
  return NULL;
}

/*
 * 1. Every fd >= 3 close-on-exec. Node and libuv open all of theirs with O_CLOEXEC already, so this
 *    changes only fds inherited from whoever started clawkerd; none of them may reach a child.
 * 2. Not dumpable: no core file with the key in it, no ptrace or /proc/1/mem without CAP_SYS_PTRACE.
 *    The flag is reset by execve, so the children are not affected.
 * 3. RLIMIT_CORE soft limit 0 (the hard limit stays), belt to the braces of 2. Children would inherit
 *    it: the exec shim puts the returned old soft limit back ("unlimited" or a number of bytes).
 */
napi_value harden_self(napi_env env, napi_callback_info info) {
  (void)info;
  if (cloexec_from(3) != 0) return fail(env, "close-on-exec for inherited fds", errno);
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return fail(env, "prctl(PR_SET_DUMPABLE)", errno);
  struct rlimit core;
  if (getrlimit(RLIMIT_CORE, &core) != 0) return fail(env, "getrlimit(RLIMIT_CORE)", errno);
  char old_soft[32];
  if (core.rlim_cur == RLIM_INFINITY) snprintf(old_soft, sizeof old_soft, "unlimited");
  else snprintf(old_soft, sizeof old_soft, "%llu", (unsigned long long)core.rlim_cur);
  core.rlim_cur = 0;
  if (setrlimit(RLIMIT_CORE, &core) != 0) return fail(env, "setrlimit(RLIMIT_CORE)", errno);
  napi_value out;
  napi_create_string_utf8(env, old_soft, NAPI_AUTO_LENGTH, &out);
  return out;
}
