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

/* Blocks a thread caches per mid class. */
#define HK_MID_RING 15u

/* Per class a stack of cached blocks: slot[c][1..n[c]], the newest on top;
 * slot[c][0] stays NULL, so the top (slot[c][n[c]]) can be compared with a
 * pointer without testing n first. Indexed by the class itself (the tiny
 * rows are unused): no subtraction and 128-byte rows on the fast paths. */
typedef struct hk_mid_cache {
  uint32_t n[HAK_SMALL_CLASSES];
  void *slot[HAK_SMALL_CLASSES][HK_MID_RING + 1];
  hk_seg_class_t seg[HAK_MID_CLASSES];
} hk_mid_cache_t;

/* cls in C8..C25: whether the ring holds a block, and (only then) pop it. */
HAK_INLINE bool hk_mid_has(const hk_mid_cache_t *mc, unsigned cls) { return mc->n[cls] != 0; }
HAK_INLINE void *hk_mid_pop(hk_mid_cache_t *mc, unsigned cls) { return mc->slot[cls][mc->n[cls]--]; }

/* cls in C8..C25: the newest cached block, or NULL. */
HAK_INLINE void *hk_mid_alloc_fast(hk_mid_cache_t *mc, unsigned cls) {
  uint32_t n = mc->n[cls];
  if (HAK_UNLIKELY(n == 0)) return NULL;
  mc->n[cls] = n - 1;
  return mc->slot[cls][n];
}
/* Pops the ring if it holds a block, else refills it from the thread's
 * slabs of cls (owner = the thread's owner word for cls). */
HAK_NOINLINE void *hk_mid_alloc_slow(hk_mid_cache_t *mc, unsigned cls, uintptr_t owner);

/* The block freed last, on top of the ring of cls (an immediate double free). */
HAK_INLINE bool hk_mid_is_top(const hk_mid_cache_t *mc, unsigned cls, const void *p) {
  return mc->slot[cls][mc->n[cls]] == p;
}

/* Owner-side free of mid block p of slab s: pushes p on the class's ring when
 * p is a handed-out block start, the ring has room and p is not the block
 * freed just before (double free). Returns false for the slow path. */
HAK_INLINE bool hk_mid_free_fast(hk_mid_cache_t *mc, const hk_slab_t *s, void *p) {
  /* Slabs are 64 KiB aligned: the low 16 bits are the offset in the slab
   * (for p in s's granule; an aliased p above 2^48 fails the carved test). */
  uint32_t off = (uint16_t)(uintptr_t)p;
  uint32_t idx = (uint32_t)(((uint64_t)off * s->div_magic) >> 32);
  if (HAK_UNLIKELY(idx * s->block_size != off)) return false;
  if (HAK_UNLIKELY((uintptr_t)p >= s->carve_end)) return false; /* the owner's own field */
  unsigned cls = s->cls;
  uint32_t n = mc->n[cls];
  if (HAK_UNLIKELY(n == HK_MID_RING || mc->slot[cls][n] == p)) return false;
  mc->slot[cls][n + 1] = p;
  mc->n[cls] = n + 1;
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
