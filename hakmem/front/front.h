/* hakmem/front/front.h — the tiny front (C0..C7, 8..1024 B): page-local free
 * lists, mimalloc's free-list sharding and the seeds' TinyHeap design.
 *
 * Owns: per thread and class a set of pages (64 KiB slabs: current, partial,
 * full; an hk_seg_class_t) and the page-pointer table the malloc fast path
 * reads. Each page keeps its own free list (s->free) and the exact count of
 * its blocks outside it (s->live). malloc pops the current page; free pushes
 * onto the block's own page. Counting, bounds and the return of empty pages
 * happen at page boundaries, in the segment box's two entries:
 *   - alloc_slow_from_class (hk_seg_alloc_slow_from_class): the current
 *     page ran dry: drain its remote frees, carve more, or take another page;
 *   - page_becomes_empty (hk_seg_page_becomes_empty): a free brought a
 *     page's live count to 0 (the current page stays current).
 * Meta modes (per class, from the policy box): SAFE (and every class of the
 * LEGACY profile) syncs the slab and SuperSlab counters at the boundaries;
 * PER_OP also on every operation (an atomic add: those classes take the
 * counted route of the API layer); ULTRA never touches the SuperSlab
 * counters (benchmarks only). The fast paths are the same for all three.
 * Boundary: the API layer finds a block's page and decides, from the owner
 * word, that this thread serves it on the fast route; other threads' frees go
 * to the page's remote queue (segment box). */
#ifndef HAKMEM_FRONT_FRONT_H
#define HAKMEM_FRONT_FRONT_H

#include <stdbool.h>
#include <stdint.h>

#include "hakmem/core/compiler.h"
#include "hakmem/core/size_class.h"
#include "hakmem/segment/segment.h"

enum { HK_TINY_PER_OP = 0, HK_TINY_SAFE = 1, HK_TINY_ULTRA = 2 }; /* = policy.h HK_META_* */

/* Granules of 8 bytes: a tiny request of n (1..1024) bytes is granule
 * (n - 1) / 8, and a class's granules are a power-of-two aligned range. */
#define HK_TINY_GRANULES (HAK_TINY_MAX / 8u) /* 128 */

typedef struct hk_tiny {
  /* The page malloc pops for each request granule (mimalloc's direct page
   * table): the current page of the granule's class if that class is on the
   * fast route, else hk_tiny_no_page (no free blocks: malloc goes slow).
   * Rewritten for the class's granules when its current page changes. */
  hk_slab_t *page[HK_TINY_GRANULES];
  hk_seg_class_t seg[HAK_TINY_CLASSES];
  uint8_t mode[HAK_TINY_CLASSES]; /* HK_TINY_* */
  uint8_t fast[HAK_TINY_CLASSES]; /* class served by the fast paths */
} hk_tiny_t;

/* A page with no free blocks and no owner; never written. */
extern hk_slab_t hk_tiny_no_page;

/* Sets up a zeroed front: meta[c] is class c's meta mode, fast[c] whether
 * the API layer serves it on the fast route. */
void hk_tiny_init(hk_tiny_t *h, const uint8_t *meta, const uint8_t *fast);

/* A block for a request of 1..1024 bytes, or NULL (slow path). */
HAK_INLINE void *hk_tiny_alloc_fast(hk_tiny_t *h, size_t size) {
  hk_slab_t *s = h->page[(size - 1) >> 3];
  hk_block_t *b = s->free;
  if (HAK_UNLIKELY(b == NULL)) return NULL;
  s->free = hk_block_next(b);
  s->live++;
  return b;
}

/* Any class: a block from the current page, refilling it first when it ran
 * dry (owner = this thread's owner word for the class). Counts PER_OP
 * classes. Validates the link it pops (hk_seg_link_check: a write after
 * free is reported here, so checked mode, whose every malloc comes here,
 * reports it). NULL when the OS is out of memory. */
HAK_NOINLINE void *hk_tiny_alloc_slow(hk_tiny_t *h, unsigned cls, uintptr_t owner);

/* Brings page s's counters up to date after its count reached 0 (and the
 * page back to the pool unless it is current). */
HAK_NOINLINE void hk_tiny_page_emptied(hk_tiny_t *h, hk_slab_t *s);

enum { HK_TINY_SLOW = 0, HK_TINY_FREED = 1, HK_TINY_EMPTIED = 2 };

/* Owner-side free of p into page s on the fast route. HK_TINY_SLOW when the
 * slow path must run: p is not a block start, was never handed out (also
 * every pointer above 2^48, whose page-map entry is an alias), or is the
 * block freed just before (an immediate double free). HK_TINY_EMPTIED: done,
 * and the page's last block came back (call hk_tiny_page_emptied). */
HAK_INLINE int hk_tiny_free_fast(hk_slab_t *s, void *p) {
  if (HAK_UNLIKELY(((uintptr_t)p & s->align_mask) != 0)) return HK_TINY_SLOW;
  if (HAK_UNLIKELY((uintptr_t)p >= s->carve_end)) return HK_TINY_SLOW; /* the owner's own field */
  hk_block_t *f = s->free;
  if (HAK_UNLIKELY((hk_block_t *)p == f)) return HK_TINY_SLOW;
  hk_block_set_next((hk_block_t *)p, f);
  s->free = (hk_block_t *)p;
  return HAK_LIKELY(--s->live != 0) ? HK_TINY_FREED : HK_TINY_EMPTIED;
}

/* Owner-side free of p, a checked block start of ACTIVE page s (any route):
 * reports double frees, counts PER_OP classes. */
HAK_NOINLINE void hk_tiny_free_local(hk_tiny_t *h, hk_slab_t *s, void *p);

/* Moves up to n blocks of class cls's current page into out[] (the L0
 * magazine's leftover supply); they count as outside the page. Returns how
 * many. */
uint32_t hk_tiny_take(hk_tiny_t *h, unsigned cls, void **out, uint32_t n);

/* Brings every page's counters up to date (trim, statistics). */
void hk_tiny_sync(hk_tiny_t *h);

/* Thread exit: every page back to the pool, or abandoned if blocks live. */
void hk_tiny_release(hk_tiny_t *h);

/* After fork() in the child, for a dead parent thread's front: its pages
 * become abandoned (the pool lock is already reset). */
void hk_tiny_abandon_after_fork(hk_tiny_t *h);

#endif /* HAKMEM_FRONT_FRONT_H */
