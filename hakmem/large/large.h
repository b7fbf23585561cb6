/* hakmem/large/large.h — the large-object box: every block above 32 KiB
 * (HAK_MID_MAX), and alignments the slabs cannot give.
 *
 * Owns:
 *   - Large regions: 2 MiB-aligned mappings (registry kind LARGE) of 4 MiB
 *     growing to 64 MiB of usable pages (less when the OS refuses more), with
 *     their metadata in a header at the front (a tag per 4 KiB page, set at
 *     the first and last page of each span; a dirty-page bitmap).
 *   - Spans: blocks up to HK_LARGE_SHARED_MAX (32 MiB) are page runs carved
 *     from the regions; freed spans merge with free neighbours and go to a
 *     size-binned free map (exact bins up to 16 pages, then four per power
 *     of two; a bitmap of non-empty bins), so a lookup is a few loads.
 *   - The cache: freed pages stay dirty (reusable at no system call) until
 *     they pass HAKMEM_LARGE_CACHE_BYTES (oldest region purged first) or the
 *     HAKMEM_LARGE_PURGE_DELAY_MS idle delay (madvise). One empty region is
 *     kept mapped as a spare; other regions are unmapped when they empty.
 *   - Blocks above HK_LARGE_SHARED_MAX (or aligned beyond 2 MiB): a mapping
 *     of their own (registry kind HUGE), unmapped at free.
 *   - realloc of large blocks (hk_large_realloc): shrink in place, grow in
 *     place into the free pages that follow, else move with headroom.
 *   - Diagnostics of bad frees of large pointers.
 * Boundary: memory comes from hk_region_map / hk_region_unmap (segment box)
 * and the OS layer (core/os.h); policy values arrive via hk_large_configure.
 * Called by hakmem/alloc.c only. One lock for all threads. */
#ifndef HAKMEM_LARGE_LARGE_H
#define HAKMEM_LARGE_LARGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hakmem/segment/segment.h"

/* ---- large ------------------------------------------------------------ */

#define HK_LARGE_PAGE 4096u
#define HK_LARGE_SHARED_MAX ((size_t)32 << 20) /* bigger: a mapping of its own */

typedef struct hk_large_config {
  size_t cache_bytes;     /* freed, unpurged span bytes kept for reuse */
  uint32_t purge_delay_ms; /* idle time after which cached spans are purged */
} hk_large_config_t;
void hk_large_configure(const hk_large_config_t *cfg);

/* size > 0, align a power of two. *zeroed tells whether the memory is known
 * to be zero (fresh from the OS). NULL when out of memory. */
void *hk_large_alloc(size_t size, size_t align, bool *zeroed);

/* entry = hk_region_entry(p), kind LARGE or HUGE. Reports and aborts on a
 * pointer that is not the start of a live large allocation. */
void hk_large_free(void *p, uintptr_t entry);
/* Usable bytes of the live large block at p; 0 if p is not one (the caller
 * reports it). */
size_t hk_large_usable(const void *p, uintptr_t entry);
/* True if p is the start of a live large allocation (never aborts). */
bool hk_large_owns(const void *p, uintptr_t entry);

/* realloc of the live large block p (entry = hk_region_entry(p)) to size > 0
 * bytes without leaving the box: p when resized in place (shrunk, or grown
 * into the free pages that follow), a new large block holding p's bytes
 * (p freed) when it had to move; NULL when the caller must move it (to a
 * small block) or memory ran out: p is then untouched. */
void *hk_large_realloc(void *p, uintptr_t entry, size_t size);

size_t hk_large_trim(void);

typedef struct hk_large_stats {
  uint64_t live;
  uint64_t live_bytes;
  uint64_t cached_bytes;
  uint64_t segments;
} hk_large_stats_t;
void hk_large_stats_get(hk_large_stats_t *out);

void hk_large_fork_prepare(void);
void hk_large_fork_parent(void);
void hk_large_fork_child(void);

#endif /* HAKMEM_LARGE_LARGE_H */
