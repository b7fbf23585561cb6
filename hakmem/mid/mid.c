/* hakmem/mid/mid.c — the mid pool's per-thread rings (see mid.h). */
#include "hakmem/mid/mid.h"

#include "hakmem/core/report.h"

#define HK_MID_REFILL (HK_MID_RING / 2)

void *hk_mid_alloc_slow(hk_mid_cache_t *mc, unsigned cls, uintptr_t owner) {
  void *p = hk_mid_alloc_fast(mc, cls);
  if (p != NULL) return p;
  hk_block_t *chain;
  uint32_t n = hk_seg_refill(&mc->seg[cls - HAK_TINY_CLASSES], cls, owner, HK_MID_REFILL, &chain);
  if (n == 0) return NULL;
  void *first = chain;
  for (hk_block_t *b = hk_block_next(chain); b != NULL; b = hk_block_next(b)) mc->slot[cls][++mc->n[cls]] = b;
  return first;
}

/* Returns the oldest blocks of the ring of cls to their slabs, keeping `keep`. */
static void ring_trim(hk_mid_cache_t *mc, unsigned cls, uint32_t keep) {
  void **slot = mc->slot[cls];
  uint32_t n = mc->n[cls];
  /* The oldest entries sit at the bottom of the ring. */
  uint32_t drop = n > keep ? n - keep : 0;
  for (uint32_t k = 1; k <= drop; k++) {
    void *p = slot[k];
    hk_seg_free_local(&mc->seg[cls - HAK_TINY_CLASSES], hk_seg_slab_of(p), p);
  }
  for (uint32_t k = drop + 1; k <= n; k++) slot[k - drop] = slot[k];
  mc->n[cls] = n - drop;
}

void hk_mid_free_local(hk_mid_cache_t *mc, hk_slab_t *s, void *p) {
  unsigned cls = s->cls;
  if (HAK_UNLIKELY(hk_mid_is_top(mc, cls, p))) {
    hk_fatal("free(): double free of %p (mid block size %u)", p, s->block_size);
  }
  if (mc->n[cls] == HK_MID_RING) ring_trim(mc, cls, HK_MID_RING / 2);
  mc->slot[cls][++mc->n[cls]] = p;
}

void hk_mid_flush(hk_mid_cache_t *mc) {
  for (unsigned c = HAK_TINY_CLASSES; c < HAK_SMALL_CLASSES; c++) ring_trim(mc, c, 0);
}

void hk_mid_cache_release(hk_mid_cache_t *mc) {
  hk_mid_flush(mc);
  for (unsigned i = 0; i < HAK_MID_CLASSES; i++) hk_seg_class_release_all(&mc->seg[i]);
}
