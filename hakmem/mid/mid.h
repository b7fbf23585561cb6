/* hakmem/mid/mid.h — the mid pool (1025 B .. 32 KiB) and large objects.
 *
 * Owns:
 *   - Mid pool: classes C8..C25 on 64 KiB pool pages (slabs of the segment
 *     box; a page's descriptor is found by normalising the address to its
 *     64 KiB page inside the 2 MiB SuperSlab). Per thread and class, a small
 *     ring of cached blocks in front of the page's local free list; frees from
 *     other threads go to the page's remote queue (segment box).
 *   - Large objects (> 32 KiB, or alignments the slabs cannot give):
 *     page-granular spans carved from 2 MiB large segments, with freed spans
 *     kept as a bounded cache and purged (madvise) once the cache exceeds its
 *     byte bound or has been idle for the purge delay, so RSS falls after a
 *     program frees a big working set; requests above HK_LARGE_SPAN_MAX go
 *     straight to their own mapping (released at free).
 * Boundary: slabs come from the segment box; regions are registered in the
 * segment box's registry (kinds LARGE and HUGE). Large state is shared by all
 * threads behind one lock. */
#ifndef HAKMEM_MID_MID_H
#define HAKMEM_MID_MID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hakmem/core/compiler.h"
#include "hakmem/core/size_class.h"
#include "hakmem/segment/segment.h"

#define HK_MID_RING 16u

typedef struct hk_mid_ring {
  uint32_t n;
  void *slot[HK_MID_RING];
} hk_mid_ring_t;

typedef struct hk_mid_cache {
  hk_mid_ring_t ring[HAK_MID_CLASSES];
  hk_seg_class_t seg[HAK_MID_CLASSES];
} hk_mid_cache_t;

/* cls in C8..C25. Returns NULL only when the OS is out of memory. */
HAK_INLINE void *hk_mid_alloc_fast(hk_mid_cache_t *mc, unsigned cls) {
  hk_mid_ring_t *r = &mc->ring[cls - HAK_TINY_CLASSES];
  if (HAK_UNLIKELY(r->n == 0)) return NULL;
  return r->slot[--r->n];
}
/* Pops the ring if it holds a block, else refills it from the thread's
 * slabs of cls (owner = the thread's owner token). */
HAK_NOINLINE void *hk_mid_alloc_slow(hk_mid_cache_t *mc, unsigned cls, uintptr_t owner);

/* Owner-side free of mid block p of slab s: pushes p on the class's ring when
 * p is a handed-out block start, the ring has room and p is not the block
 * freed just before (double free). Returns false for the slow path. */
HAK_INLINE bool hk_mid_free_fast(hk_mid_cache_t *mc, const hk_slab_t *s, void *p) {
  hk_mid_ring_t *r = &mc->ring[s->cls - HAK_TINY_CLASSES];
  long idx = hk_slab_block_index(s, p);
  if (HAK_UNLIKELY((r->n == HK_MID_RING) | (idx < 0) | ((uint32_t)idx >= hk_slab_carved(s)))) {
    return false;
  }
  if (HAK_UNLIKELY(r->n != 0 && r->slot[r->n - 1] == p)) return false;
  r->slot[r->n++] = p;
  return true;
}

/* Owner-side free of mid block p of slab s, any case. The caller has checked
 * that p is a block start of an ACTIVE slab; an immediate double free is
 * reported. */
void hk_mid_free_local(hk_mid_cache_t *mc, hk_slab_t *s, void *p);

void hk_mid_flush(hk_mid_cache_t *mc);
void hk_mid_cache_release(hk_mid_cache_t *mc);

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

#endif /* HAKMEM_MID_MID_H */
