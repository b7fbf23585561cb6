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

#endif /* HAKMEM_MID_MID_H */
