// The file-system calls the report folder needs that Swift's Glibc module does not expose: Linux's atomic
// exchange of two paths (renameat2 with RENAME_EXCHANGE) and an advisory lock on a file; and the check that
// standard output was written (C's `stdout` is a global Swift 6 will not touch).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
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
/// (EWOULDBLOCK when another process holds it). The lock goes with the descriptor or the process. The file is
/// removed when the holder is done (`inferline_unlock_file`), so a lock taken on a file that was removed meanwhile
/// is not the lock: it is let go and taken again on the file now at `path`.
static inline int inferline_lock_file(const char *path) {
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int saved = errno;
      close(fd);
      errno = saved;
      return -1;
    }
    struct stat held, now;
    if (fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_dev == now.st_dev && held.st_ino == now.st_ino)
      return fd;
    close(fd);
  }
  errno = EWOULDBLOCK;
  return -1;
}

/// Removes the lock file and lets the lock go (in that order: whoever opens the path next makes a new file).
static inline void inferline_unlock_file(const char *path, int fd) {
  unlink(path);
  close(fd);
}

static inline int inferline_errno(void) { return errno; }

#include <stdio.h>

/// Flushes standard output (the stream Swift's print writes to): 0 when everything written so far reached the
/// file, -1 with errno when a write failed (a full disk, a closed pipe), now or earlier.
static inline int inferline_flush_standard_output(void) {
  int flushed = fflush(stdout);
  return flushed != 0 || ferror(stdout) ? -1 : 0;
}
