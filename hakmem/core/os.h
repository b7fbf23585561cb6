/* hakmem/core/os.h — the OS memory layer ("prim" layer) of HAKMEM.
 *
 * Owns: every mmap/munmap/mprotect/madvise the allocator makes, the OS
 * counters (calls, bytes mapped, bytes purged), and a test-only fault
 * injection hook (end of this header).
 * Contract (mimalloc's prim style):
 *   - addresses and sizes passed in are multiples of hk_os_page_size();
 *     alignments are powers of two >= the page size;
 *   - every function returns 0 on success or an errno value (ENOMEM, EINVAL,
 *     ...) the caller can act on, and leaves errno itself untouched; nothing
 *     here aborts, logs or allocates;
 *   - on failure nothing is left mapped and *out is set to NULL.
 * Boundary: the segment, mid and large boxes get all their memory here;
 * nothing else calls mmap. */
#ifndef HAKMEM_CORE_OS_H
#define HAKMEM_CORE_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The OS page size (cached after the first call; async-signal-safe). */
size_t hk_os_page_size(void);

/* Maps size bytes aligned to align. commit=true: readable/writable (pages are
 * materialised on first touch); commit=false: address space only (PROT_NONE),
 * use hk_os_commit before touching. */
int hk_os_reserve_aligned(size_t size, size_t align, bool commit, void **out);

/* Makes [p, p+size) of a reservation readable and writable. */
int hk_os_commit(void *p, size_t size);

/* Returns the memory to the OS and makes it inaccessible (PROT_NONE); commit
 * it again before reuse. */
int hk_os_decommit(void *p, size_t size);

/* Returns the memory to the OS but keeps it accessible: the next touch gets
 * zero-filled pages (MADV_DONTNEED). RSS falls immediately. */
int hk_os_purge(void *p, size_t size);

/* Unmaps [p, p+size) (the whole or part of a reservation). */
int hk_os_release(void *p, size_t size);

/* Moves the pages of [from, from+size) to [to, to+size), which must be
 * mapped (that part of its mapping is replaced), without copying; the source
 * stays mapped, reading as zero-filled pages (Linux: mremap with
 * MREMAP_DONTUNMAP, 5.7+). Not a reserve/release: the counters do not
 * change. EINVAL / ENOSYS where the OS cannot (the caller copies). */
int hk_os_move(void *from, size_t size, void *to);

/* Short name of an errno value returned by this layer ("ENOMEM", ...); never
 * allocates, unknown values give "error". */
const char *hk_os_error_name(int err);

typedef struct hk_os_stats {
  uint64_t mmap_calls;
  uint64_t munmap_calls;
  uint64_t madvise_calls;
  uint64_t mapped_bytes;  /* currently mapped by HAKMEM */
  uint64_t purged_bytes;  /* total purged/decommitted since start */
} hk_os_stats_t;

void hk_os_stats_get(hk_os_stats_t *out);

/* ---- fault injection: TEST-ONLY -------------------------------------------
 * Makes the functions above fail as if the OS refused (mmap ENOMEM, madvise
 * EAGAIN, ...) at points a test chooses, so that tests can check that every
 * public call then returns NULL/ENOMEM or degrades, and that HAKMEM works
 * again once the rule is cleared (tests/fault). Not part of HAKMEM's API:
 * the symbols are hidden (-fvisibility=hidden, and libhakmem.lds exports
 * only the malloc family and hak_*), so only programs that link the static
 * libraries (tests) reach them. With no rule set, each function of this
 * layer pays one relaxed atomic load and a not-taken branch before its
 * system call; the allocator's fast paths never call this layer.
 *
 * A rule applies to one operation, i.e. to one function of this layer (one
 * decision per call, however many system calls the function makes). A call
 * whose arguments are invalid still returns EINVAL without consulting the
 * rule. An injected failure makes no system call, changes no counter of
 * hk_os_stats_t and has the function's usual failure effects (*out = NULL,
 * nothing mapped; for release: nothing unmapped). */
typedef enum hk_os_fault_op {
  HK_OS_FAULT_MAP = 0,      /* hk_os_reserve_aligned (mmap) */
  HK_OS_FAULT_COMMIT = 1,   /* hk_os_commit (mprotect) */
  HK_OS_FAULT_DECOMMIT = 2, /* hk_os_decommit (mmap MAP_FIXED) */
  HK_OS_FAULT_PURGE = 3,    /* hk_os_purge (madvise MADV_DONTNEED) */
  HK_OS_FAULT_RELEASE = 4,  /* hk_os_release (munmap) */
  HK_OS_FAULT_OPS = 5
} hk_os_fault_op_t;

typedef struct hk_os_fault {
  /* Only calls whose size is in [min_size, max_size] match the rule
   * (max_size 0: no upper bound); other calls are left alone. */
  size_t min_size, max_size;
  uint64_t after;  /* the first `after` matching calls succeed... */
  uint64_t count;  /* ...then `count` matching calls fail (0: all until cleared) */
  /* 0: every call in that window fails. Else each fails with probability
   * ppm / 1000000, drawn from a xorshift generator seeded with `seed`: the
   * same sequence of matching calls gets the same failures. */
  uint32_t ppm;
  uint64_t seed;
  int error; /* the errno value the call returns; 0 means ENOMEM */
} hk_os_fault_t;

/* Sets (replaces) the rule of op and zeroes its counters. Thread-safe: other
 * threads may be calling this layer (each call sees the old or the new rule).
 * While a rule is set, a fork() that catches another thread deciding a call
 * may leave the child stuck on the hook's lock: clear rules before forking. */
void hk_os_fault_set(hk_os_fault_op_t op, const hk_os_fault_t *rule);
/* Removes the rule of op (its counters stay readable until the next set). */
void hk_os_fault_clear(hk_os_fault_op_t op);
void hk_os_fault_clear_all(void);
/* Since op's rule was last set: calls that matched it, failures injected. */
uint64_t hk_os_fault_matched(hk_os_fault_op_t op);
uint64_t hk_os_fault_injected(hk_os_fault_op_t op);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_CORE_OS_H */
