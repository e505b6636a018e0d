// The file-system calls the report folder needs that Swift's Glibc module does not expose: Linux's atomic
// exchange of two paths (renameat2 with RENAME_EXCHANGE) and an advisory lock on a file.
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/// Swaps the two paths in one step; -1 with errno (ENOSYS, EINVAL where the file system cannot) otherwise.
static inline int inferline_exchange_paths(const char *a, const char *b) {
#ifdef SYS_renameat2
  return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#else
  errno = ENOSYS;
  return -1;
#endif
}

/// Opens (creating) `path` and takes an exclusive lock without waiting: the descriptor, or -1 with errno
/// (EWOULDBLOCK when another process holds it). The lock goes with the descriptor or the process.
static inline int inferline_lock_file(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

static inline int inferline_errno(void) { return errno; }
