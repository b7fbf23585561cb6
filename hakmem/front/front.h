/* hakmem/front/front.h — the tiny front end, classes C0..C7 (8..1024 B).
 *
 * Owns: each thread's TLS singly-linked free list per tiny class, bounded in
 * length, with a periodic drain back to the slabs every
 * HAKMEM_TINY_SLL_DRAIN_INTERVAL frees (default 2048) so that slabs whose
 * blocks all came back can be recycled; batch refill from the thread's slabs.
 * Fast paths (inline): malloc = pop with one test; free = push after the
 * owner, block-start, handed-out, bound and immediate-double-free tests. Everything else is
 * in noinline functions in front.c.
 * Boundary: blocks come from and go back to slabs only through the segment
 * box (hk_seg_refill / hk_seg_free_local); the API layer decides which slab a
 * pointer belongs to, whether this thread owns it, and which classes are on
 * this route (LIST, or L0 with the magazine of l0.h in front): classes on the
 * TinyHeap route never reach these lists. */
#ifndef HAKMEM_FRONT_FRONT_H
#define HAKMEM_FRONT_FRONT_H

#include <stdbool.h>
#include <stdint.h>

#include "hakmem/core/compiler.h"
#include "hakmem/core/size_class.h"
#include "hakmem/segment/segment.h"

typedef struct hk_tiny_list {
  hk_block_t *head;
  uint32_t count;
  uint32_t limit;
} hk_tiny_list_t;

typedef struct hk_tiny_cache {
  hk_tiny_list_t list[HAK_TINY_CLASSES];
  uint32_t drain_countdown; /* frees until the next periodic drain (>= 1 at rest) */
  uint32_t drain_interval;
  hk_seg_class_t seg[HAK_TINY_CLASSES];
} hk_tiny_cache_t;

/* Sets the bounds of a fresh (zeroed) cache. */
void hk_tiny_cache_init(hk_tiny_cache_t *tc, uint32_t drain_interval);

HAK_INLINE void *hk_tiny_alloc_fast(hk_tiny_cache_t *tc, unsigned cls) {
  hk_tiny_list_t *l = &tc->list[cls];
  hk_block_t *b = l->head;
  if (HAK_UNLIKELY(b == NULL)) return NULL;
  l->head = hk_block_next(b);
  l->count--;
  return b;
}

/* Refills class cls from the thread's slabs and returns one block, or NULL
 * when the OS is out of memory. owner = the thread's owner token. */
HAK_NOINLINE void *hk_tiny_alloc_slow(hk_tiny_cache_t *tc, unsigned cls, uintptr_t owner);

/* True if p is a handed-out block start of tiny slab s. Tiny block sizes are
 * 8 << cls and slabs are 64 KiB aligned: the block index is the offset in the
 * slab shifted by cls + 3. A block at or past `carved` was never handed out
 * (a garbage pointer). */
HAK_INLINE bool hk_tiny_block_ok(const hk_slab_t *s, const void *p) {
  unsigned shift = s->cls + 3u;
  uintptr_t off = (uintptr_t)p & (HAK_SLAB_SIZE - 1);
  uintptr_t idx = off >> shift;
  return (idx << shift) == off && idx < hk_slab_carved(s);
}

/* Owner-side free of p (a block of slab s, s owned by this thread). Returns
 * false when the slow path must run (list full, drain due, bad pointer: the
 * slow path reports it). */
HAK_INLINE bool hk_tiny_free_fast(hk_tiny_cache_t *tc, const hk_slab_t *s, void *p) {
  unsigned cls = s->cls;
  hk_tiny_list_t *l = &tc->list[cls];
  if (HAK_UNLIKELY(!hk_tiny_block_ok(s, p))) return false;
  if (HAK_UNLIKELY(l->count >= l->limit)) return false;
  if (HAK_UNLIKELY((hk_block_t *)p == l->head)) return false;
  /* Reaching 0 hands this free to the slow path, which drains and restarts
   * the countdown (it sees 0 and does not count this free again). */
  if (HAK_UNLIKELY(--tc->drain_countdown == 0)) return false;
  hk_block_set_next((hk_block_t *)p, l->head);
  l->head = (hk_block_t *)p;
  l->count++;
  return true;
}

/* The rest of an owner-side free; the caller has checked that p is a
 * handed-out block start of an ACTIVE slab. Reports an immediate double free,
 * runs the periodic drain, and flushes half of a full list to the slabs. */
HAK_NOINLINE void hk_tiny_free_slow(hk_tiny_cache_t *tc, hk_slab_t *s, void *p);

/* Returns one block the thread holds outside the lists (an L0 magazine's)
 * straight to its slab. */
void hk_tiny_return(hk_tiny_cache_t *tc, void *p);

/* Returns every cached block to its slab (thread exit, malloc_trim). */
void hk_tiny_flush(hk_tiny_cache_t *tc);

/* Thread exit: flush, then release or abandon every slab. */
void hk_tiny_cache_release(hk_tiny_cache_t *tc);

#endif /* HAKMEM_FRONT_FRONT_H */
