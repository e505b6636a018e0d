// The C library's allocator settings the command line makes at start, which Swift's Glibc module does not expose.
#if defined(__linux__)
#include <malloc.h>
#endif

/// Caps glibc's malloc at `count` arenas (by default eight per core). Each thread that allocates while the others
/// hold theirs gets an arena of its own, and memory freed in one arena serves no other: a report whose replays run
/// on threads of their own kept a hundred megabytes more at its peak. No effect elsewhere.
static inline void inferline_limit_malloc_arenas(int count) {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
  mallopt(M_ARENA_MAX, count);
#else
  (void)count;
#endif
}
