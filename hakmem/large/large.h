/* hakmem/large/large.h — the large-object box: every block above 32 KiB
 * (HAK_MID_MAX), and alignments the slabs cannot give.
 *
 * Owns: the large regions (mapped through the segment box's registry, kinds
 * LARGE and HUGE), the page-granular spans carved from them, the cache of
 * freed spans and its purging (byte bound HAKMEM_LARGE_CACHE_BYTES, delay
 * HAKMEM_LARGE_PURGE_DELAY_MS), large realloc, and the diagnostics of bad
 * frees of large pointers.
 * Boundary: memory comes from hk_region_map / hk_region_unmap (segment box)
 * and the OS layer (core/os.h); the policy values arrive through
 * hk_large_configure. Callers: hakmem/alloc.c only. State is shared by all
 * threads behind one lock. */
#ifndef HAKMEM_LARGE_LARGE_H
#define HAKMEM_LARGE_LARGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hakmem/segment/segment.h"

/* ---- large ------------------------------------------------------------ */

#define HK_LARGE_PAGE 4096u
#define HK_LARGE_SPAN_MAX ((size_t)1 << 20) /* bigger: a mapping of its own */

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
