/* hakmem/core/os.h — the OS memory layer ("prim" layer) of HAKMEM.
 *
 * Owns: every mmap/munmap/mprotect/madvise the allocator makes, and the OS
 * counters (calls, bytes mapped, bytes purged).
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

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_CORE_OS_H */
