/*
 * Close-on-exec for every fd from `lowest` up: what keeps an fd clawkerd inherited (or one a bug left
 * inheritable) from crossing into a program that runs as another user. One close_range(2) call where
 * the kernel has CLOSE_RANGE_CLOEXEC (5.11+), else one fcntl per open fd listed in /proc/self/fd.
 * Returns 0, or -1 with errno set.
 */
#ifndef CLAWKERD_CLOEXEC_H
#define CLAWKERD_CLOEXEC_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static inline int cloexec_from(int lowest) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)lowest, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
#endif
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) return -1;
  int own = dirfd(dir);
  int result = 0;
  for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
    char *end;
    long fd = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || end == entry->d_name || fd < lowest || fd == own) continue;
    if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) != 0 && errno != EBADF) result = -1;
  }
  int saved = errno;
  closedir(dir);
  errno = saved;
  return result;
}

#endif
