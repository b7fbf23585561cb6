/* hakmem/mid/mid.h — the mid pool (1025 B .. 32 KiB).
 *
 * Owns:
 *   - Mid pool: classes C8..C25 on 64 KiB pool pages (slabs of the segment
 *     box; a page's descriptor is found by normalising the address to its
 *     64 KiB page inside the 2 MiB SuperSlab). Per thread and class, a small
 *     stack of cached blocks in front of the page's local free list; frees from
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

/* Blocks a thread caches per mid class: HK_MID_BYTES worth, at least
 * HK_MID_MIN and at most HK_MID_MAX blocks (1280 B .. 16 KiB: 30 blocks,
 * 21760 B: 24, 32 KiB: 16; at most about 3.6 MiB per thread over all
 * classes, tcmalloc's per-thread bound). The cache absorbs the random walk
 * of a class's live count (a ring of 15 refilled with 7 was crossed every
 * few operations on 8..32 KiB mixes: mid_large_mt spent a fifth of its time
 * refilling and trimming). */
#define HK_MID_BYTES (512u * 1024u)
#define HK_MID_MIN 8u
#define HK_MID_MAX 30u

/* One class's stack of cached blocks: slot[1..n], the newest on top;
 * slot[0] stays NULL, so the top (slot[n]) can be compared with a pointer
 * without testing n first. cap is the class's capacity (0 in the empty
 * thread record: nothing is ever pushed there). 256 bytes: a class's stack
 * is found with one shift. */
typedef struct hk_mid_stack {
  uint32_t n;
  uint32_t cap;
  void *slot[HK_MID_MAX + 1];
} hk_mid_stack_t;
_Static_assert(sizeof(hk_mid_stack_t) == 256, "a mid stack is 256 bytes");

typedef struct hk_mid_cache {
  hk_mid_stack_t stack[HAK_MID_CLASSES];
  hk_seg_class_t seg[HAK_MID_CLASSES];
} hk_mid_cache_t;

/* cls in C8..C25. */
HAK_INLINE hk_mid_stack_t *hk_mid_stack(hk_mid_cache_t *mc, unsigned cls) {
  return &mc->stack[(size_t)cls - HAK_TINY_CLASSES]; /* size_t: the offset folds into the address */
}
HAK_INLINE const hk_mid_stack_t *hk_mid_stack_const(const hk_mid_cache_t *mc, unsigned cls) {
  return &mc->stack[(size_t)cls - HAK_TINY_CLASSES]; /* size_t: the offset folds into the address */
}

/* Sets the capacities of a new thread's (zeroed) cache. */
void hk_mid_cache_init(hk_mid_cache_t *mc);

/* cls in C8..C25: whether the stack holds a block, and (only then) pop it. */
HAK_INLINE bool hk_mid_has(const hk_mid_cache_t *mc, unsigned cls) { return hk_mid_stack_const(mc, cls)->n != 0; }
HAK_INLINE void *hk_mid_pop(hk_mid_cache_t *mc, unsigned cls) {
  hk_mid_stack_t *st = hk_mid_stack(mc, cls);
  return st->slot[st->n--];
}

/* cls in C8..C25: the newest cached block, or NULL. */
HAK_INLINE void *hk_mid_alloc_fast(hk_mid_cache_t *mc, unsigned cls) {
  hk_mid_stack_t *st = hk_mid_stack(mc, cls);
  uint32_t n = st->n;
  if (HAK_UNLIKELY(n == 0)) return NULL;
  st->n = n - 1;
  return st->slot[n];
}
/* Pops the cache if it holds a block, else refills half of it from the
 * thread's slabs of cls (owner = the thread's owner word for cls). */
HAK_NOINLINE void *hk_mid_alloc_slow(hk_mid_cache_t *mc, unsigned cls, uintptr_t owner);

/* The block freed last, on top of the stack of cls (an immediate double free). */
HAK_INLINE bool hk_mid_is_top(const hk_mid_cache_t *mc, unsigned cls, const void *p) {
  const hk_mid_stack_t *st = hk_mid_stack_const(mc, cls);
  return st->slot[st->n] == p;
}

/* Owner-side free of mid block p of slab s: pushes p on the stack of its
 * owner's cache (s->home, set when the slab became the owner's current
 * slab: no thread-record lookup) when p is a handed-out block start, the
 * stack has room and p is not the block freed just before (double free).
 * Returns false for the slow path. */
HAK_INLINE bool hk_mid_free_fast(const hk_slab_t *s, void *p) {
  /* Slabs are 64 KiB aligned: the low 16 bits are the offset in the slab
   * (for p in s's granule; an aliased p above 2^48 fails the carved test). */
  uint32_t off = (uint16_t)(uintptr_t)p;
  uint32_t idx = (uint32_t)(((uint64_t)off * s->div_magic) >> 32);
  if (HAK_UNLIKELY(idx * s->block_size != off)) return false;
  if (HAK_UNLIKELY((uintptr_t)p >= s->carve_end)) return false; /* the owner's own field */
  hk_mid_stack_t *st = (hk_mid_stack_t *)s->home;
  uint32_t n = st->n;
  if (HAK_UNLIKELY(n == st->cap || st->slot[n] == p)) return false;
  st->slot[n + 1] = p;
  st->n = n + 1;
  return true;
}

/* Owner-side free of mid block p of slab s, any case. The caller has checked
 * that p is a block start of an ACTIVE slab; an immediate double free is
 * reported. */
void hk_mid_free_local(hk_mid_cache_t *mc, hk_slab_t *s, void *p);

void hk_mid_flush(hk_mid_cache_t *mc);
void hk_mid_cache_release(hk_mid_cache_t *mc);

#endif /* HAKMEM_MID_MID_H */
