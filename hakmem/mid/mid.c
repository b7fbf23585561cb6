/* hakmem/mid/mid.c — the mid pool's per-thread block stacks (see mid.h). */
#include "hakmem/mid/mid.h"

#include "hakmem/core/report.h"

void hk_mid_cache_init(hk_mid_cache_t *mc) {
  for (unsigned c = HAK_TINY_CLASSES; c < HAK_SMALL_CLASSES; c++) {
    uint32_t cap = HK_MID_BYTES / hk_class_size[c];
    hk_mid_stack(mc, c)->cap = cap < HK_MID_MIN ? HK_MID_MIN : cap > HK_MID_MAX ? HK_MID_MAX : cap;
    mc->seg[c - HAK_TINY_CLASSES].home = hk_mid_stack(mc, c);
  }
}

void *hk_mid_alloc_slow(hk_mid_cache_t *mc, unsigned cls, uintptr_t owner) {
  void *p = hk_mid_alloc_fast(mc, cls);
  if (p != NULL) return p;
  /* Empty: half the capacity plus the block returned, straight into
   * slot[1..], then reversed so that blocks go out in the order the refill
   * took them (the current slab's free list first, its carved blocks by
   * address, the next slab's last). */
  hk_mid_stack_t *st = hk_mid_stack(mc, cls);
  void **slot = &st->slot[1];
  uint32_t n = hk_seg_refill(&mc->seg[cls - HAK_TINY_CLASSES], cls, owner, st->cap / 2 + 1, slot);
  if (n == 0) return NULL;
  for (uint32_t i = 0, j = n - 1; i < j; i++, j--) {
    void *x = slot[i];
    slot[i] = slot[j];
    slot[j] = x;
  }
  st->n = n - 1;
  return slot[n - 1];
}

/* Returns the oldest blocks of the stack of cls to their slabs, keeping `keep`. */
static void stack_trim(hk_mid_cache_t *mc, unsigned cls, uint32_t keep) {
  hk_mid_stack_t *st = hk_mid_stack(mc, cls);
  uint32_t n = st->n;
  /* The oldest entries sit at the bottom of the stack. */
  uint32_t drop = n > keep ? n - keep : 0;
  for (uint32_t k = 1; k <= drop; k++) {
    void *p = st->slot[k];
    hk_seg_free_local(&mc->seg[cls - HAK_TINY_CLASSES], hk_seg_slab_of(p), p);
  }
  for (uint32_t k = drop + 1; k <= n; k++) st->slot[k - drop] = st->slot[k];
  st->n = n - drop;
}

void hk_mid_free_local(hk_mid_cache_t *mc, hk_slab_t *s, void *p) {
  unsigned cls = s->cls;
  if (HAK_UNLIKELY(hk_mid_is_top(mc, cls, p))) {
    hk_fatal("free(): double free of %p (mid block size %u)", p, s->block_size);
  }
  hk_mid_stack_t *st = hk_mid_stack(mc, cls);
  if (st->n >= st->cap) stack_trim(mc, cls, st->cap / 2);
  st->slot[++st->n] = p;
}

void hk_mid_flush(hk_mid_cache_t *mc) {
  for (unsigned c = HAK_TINY_CLASSES; c < HAK_SMALL_CLASSES; c++) stack_trim(mc, c, 0);
}

void hk_mid_cache_release(hk_mid_cache_t *mc) {
  hk_mid_flush(mc);
  for (unsigned i = 0; i < HAK_MID_CLASSES; i++) hk_seg_class_release_all(&mc->seg[i]);
}
