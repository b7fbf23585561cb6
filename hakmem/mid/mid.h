/* hakmem/mid/mid.h — the mid pool (1025 B .. 32 KiB).
 *
 * Owns:
 *   - Mid pool: classes C8..C25 on 64 KiB pool pages (slabs of the segment
 *     box; a page's descriptor is found by normalising the address to its
 *     64 KiB page inside the 2 MiB SuperSlab). Per thread and class, a small
 *     ring of cached blocks in front of the page's local free list; frees from
 *     other threads go to the page's remote queue (segment box).
 * Boundary: slabs come from the segment box. Blocks above 32 KiB are the
 * large box's (hakmem/large/large.h). */
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

#endif /* HAKMEM_MID_MID_H */
