/* hakmem/mid/mid.c — the mid pool's per-thread rings (see mid.h). */
#include "hakmem/mid/mid.h"

#include "hakmem/core/report.h"

#define HK_MID_REFILL (HK_MID_RING / 2)

void *hk_mid_alloc_slow(hk_mid_cache_t *mc, unsigned cls, uintptr_t owner) {
  hk_mid_ring_t *r = &mc->ring[cls - HAK_TINY_CLASSES];
  if (r->n != 0) return r->slot[--r->n];
  hk_block_t *chain;
  uint32_t n = hk_seg_refill(&mc->seg[cls - HAK_TINY_CLASSES], cls, owner, HK_MID_REFILL, &chain);
  if (n == 0) return NULL;
  void *first = chain;
  for (hk_block_t *b = hk_block_next(chain); b != NULL; b = hk_block_next(b)) r->slot[r->n++] = b;
  return first;
}

static void ring_trim(hk_mid_cache_t *mc, unsigned i, uint32_t keep) {
  hk_mid_ring_t *r = &mc->ring[i];
  /* The oldest entries sit at the bottom of the ring. */
  uint32_t drop = r->n > keep ? r->n - keep : 0;
  for (uint32_t k = 0; k < drop; k++) {
    void *p = r->slot[k];
    hk_seg_free_local(&mc->seg[i], hk_seg_slab_of(p), p);
  }
  for (uint32_t k = drop; k < r->n; k++) r->slot[k - drop] = r->slot[k];
  r->n -= drop;
}

void hk_mid_free_local(hk_mid_cache_t *mc, hk_slab_t *s, void *p) {
  unsigned i = s->cls - HAK_TINY_CLASSES;
  hk_mid_ring_t *r = &mc->ring[i];
  if (HAK_UNLIKELY(r->n != 0 && r->slot[r->n - 1] == p)) {
    hk_fatal("free(): double free of %p (mid block size %u)", p, s->block_size);
  }
  if (r->n == HK_MID_RING) ring_trim(mc, i, HK_MID_RING / 2);
  r->slot[r->n++] = p;
}

void hk_mid_flush(hk_mid_cache_t *mc) {
  for (unsigned i = 0; i < HAK_MID_CLASSES; i++) ring_trim(mc, i, 0);
}

void hk_mid_cache_release(hk_mid_cache_t *mc) {
  hk_mid_flush(mc);
  for (unsigned i = 0; i < HAK_MID_CLASSES; i++) hk_seg_class_release_all(&mc->seg[i]);
}
