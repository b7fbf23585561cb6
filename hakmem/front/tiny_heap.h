/* hakmem/front/tiny_heap.h — the TinyHeap box (SPEC §3 "Tiny front", seed
 * 001): a mimalloc-style per-thread heap for the tiny classes on the HEAP
 * route.
 *
 * Owns: per thread and class, the current page, partial pages and full
 * pages (an hk_seg_class_t set); each page is a 64 KiB slab with its own free
 * list (s->free), used and capacity. The hot path stays inside this box:
 * malloc pops the current page's free list, free pushes onto the block's
 * page. It enters the segment box at exactly two points:
 *   - alloc_slow_from_class (hk_seg_alloc_slow_from_class): the current
 *     page's free list is empty — drain its remote frees, carve more blocks,
 *     or move on to another page;
 *   - page_becomes_empty (hk_seg_page_becomes_empty): a free emptied a
 *     page (the current page stays current).
 * A free into a page on the full list pushes in place; the segment box finds
 * such pages when it scans the full list.
 * Classes on this route never touch the TLS free lists of front.h (no
 * refill, no prewarm, no push). Remote frees into TinyHeap pages go to the
 * page's MPSC queue and are drained by the owner before it pops from them.
 * Meta modes (per class, fixed at init by the policy box):
 *   PER_OP  every operation counts the page's `live` and carries it into
 *           the slab's used and the SuperSlab's live_blocks (an atomic add);
 *   SAFE    every operation counts the page's `live` only; the delta
 *           live - used goes into the slab and SuperSlab counters at the page
 *           boundaries (exhausted, emptied, drained, leaving the thread,
 *           trim). The SPEC's second flush point, |delta| >= max(256,
 *           capacity * 16), cannot occur here: live and used both lie in
 *           0..capacity. A page becoming current is clamped to its carved
 *           blocks; the current page stays current when it empties;
 *   ULTRA   no counting at all on the hot path: pages are
 *           recounted from their free lists at the boundaries (so an empty
 *           page is only noticed when the full list is scanned); SuperSlab
 *           counters are not maintained. For benchmarks only.
 * Boundary: the segment box owns the page lists' transitions and the pool;
 * the API layer decides the route and that the caller owns the page. */
#ifndef HAKMEM_FRONT_TINY_HEAP_H
#define HAKMEM_FRONT_TINY_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "hakmem/core/compiler.h"
#include "hakmem/core/size_class.h"
#include "hakmem/front/front.h"
#include "hakmem/segment/segment.h"

enum { HK_HEAP_PER_OP = 0, HK_HEAP_SAFE = 1, HK_HEAP_ULTRA = 2 }; /* = policy.h HK_META_* */

typedef struct hk_tiny_heap {
  hk_seg_class_t seg[HAK_TINY_CLASSES];
  uint8_t mode[HAK_TINY_CLASSES]; /* HK_HEAP_* */
} hk_tiny_heap_t;

/* Sets up a fresh (zeroed) heap; meta[c] is the HK_META_* mode of class c. */
void hk_tiny_heap_init(hk_tiny_heap_t *h, const uint8_t *meta);

HAK_INLINE void *hk_tiny_heap_alloc_fast(hk_tiny_heap_t *h, unsigned cls) {
  hk_slab_t *s = h->seg[cls].current;
  if (HAK_UNLIKELY(s == NULL)) return NULL;
  hk_block_t *b = s->free;
  if (HAK_UNLIKELY(b == NULL)) return NULL;
  s->free = hk_block_next(b);
  unsigned m = h->mode[cls];
  if (m != HK_HEAP_ULTRA) {
    s->live++;
    if (HAK_UNLIKELY(m == HK_HEAP_PER_OP)) hk_seg_meta_flush(s);
  }
  return b;
}

/* The current page ran dry: alloc_slow_from_class, then pop. NULL when the
 * OS is out of memory. */
HAK_NOINLINE void *hk_tiny_heap_alloc_slow(hk_tiny_heap_t *h, unsigned cls, uintptr_t owner);

/* Owner-side free of p into page s (s->owner is the caller). False when the
 * slow path must run: not a handed-out block start, an immediate double
 * free, or the page would become empty. */
HAK_INLINE bool hk_tiny_heap_free_fast(hk_tiny_heap_t *h, hk_slab_t *s, void *p) {
  unsigned cls = s->cls;
  if (HAK_UNLIKELY(!hk_tiny_block_ok(s, p))) return false;
  if (HAK_UNLIKELY((hk_block_t *)p == s->free)) return false;
  unsigned m = h->mode[cls];
  if (m != HK_HEAP_ULTRA) {
    if (HAK_UNLIKELY(s->live <= 1)) return false;
    s->live--;
    if (HAK_UNLIKELY(m == HK_HEAP_PER_OP)) hk_seg_meta_flush(s);
  }
  hk_block_set_next((hk_block_t *)p, s->free);
  s->free = (hk_block_t *)p;
  return true;
}

/* The rest of an owner-side free; the caller has checked that p is a
 * handed-out block start of ACTIVE page s. Reports double frees. */
HAK_NOINLINE void hk_tiny_heap_free_slow(hk_tiny_heap_t *h, hk_slab_t *s, void *p);

/* Brings every page's counters up to date (trim, statistics). */
void hk_tiny_heap_sync(hk_tiny_heap_t *h);

/* Thread exit: every page back to the pool, or abandoned if blocks live. */
void hk_tiny_heap_release(hk_tiny_heap_t *h);

#endif /* HAKMEM_FRONT_TINY_HEAP_H */
