/* hakmem/front/front.c — slow paths of the tiny front (see front.h). */
#include "hakmem/front/front.h"

#include "hakmem/core/report.h"

/* List bounds per class: more blocks for small classes (cheap to hold),
 * fewer for 512/1024 B. Refill takes half a list's bound at a time. */
static const uint32_t k_limit[HAK_TINY_CLASSES] = {256, 256, 256, 256, 128, 128, 64, 64};

void hk_tiny_cache_init(hk_tiny_cache_t *tc, uint32_t drain_interval) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) tc->list[c].limit = k_limit[c];
  tc->drain_interval = drain_interval;
  /* The free that brings drain_countdown to 0 takes the slow path, which
   * drains and restarts it; with the drain off (interval 0) it restarts from
   * UINT32_MAX, i.e. a drain every 2^32 frees. */
  tc->drain_countdown = drain_interval ? drain_interval : UINT32_MAX;
}

void *hk_tiny_alloc_slow(hk_tiny_cache_t *tc, unsigned cls, uintptr_t owner) {
  hk_tiny_list_t *l = &tc->list[cls];
  if (l->head != NULL) return hk_tiny_alloc_fast(tc, cls);
  hk_block_t *chain;
  uint32_t n = hk_seg_refill(&tc->seg[cls], cls, owner, l->limit / 2, &chain);
  if (n == 0) return NULL;
  hk_block_t *b = chain;
  l->head = hk_block_next(b);
  l->count = n - 1;
  return b;
}

/* Keeps the `keep` most recently freed blocks of list cls (the head: warm in
 * cache) and returns the older rest to their slabs. */
static void list_trim(hk_tiny_cache_t *tc, unsigned cls, uint32_t keep) {
  hk_tiny_list_t *l = &tc->list[cls];
  if (l->count <= keep) return;
  hk_block_t *rest;
  if (keep == 0) {
    rest = l->head;
    l->head = NULL;
  } else {
    hk_block_t *last = l->head;
    for (uint32_t i = 1; i < keep; i++) last = hk_block_next(last);
    rest = hk_block_next(last);
    hk_block_set_next(last, NULL);
  }
  l->count = keep;
  while (rest != NULL) {
    hk_block_t *b = rest;
    rest = hk_block_next(b);
    hk_seg_free_local(&tc->seg[cls], hk_seg_slab_of(b), b);
  }
}

void hk_tiny_return(hk_tiny_cache_t *tc, void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  hk_seg_free_local(&tc->seg[s->cls], s, p);
}

void hk_tiny_flush(hk_tiny_cache_t *tc) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) list_trim(tc, c, 0);
}

static HAK_COLD HAK_NORETURN void bad_free(const hk_slab_t *s, const void *p, const char *what) {
  hk_fatal("free(): %s %p (tiny block size %u, slab %p)", what, p, s->block_size,
           (void *)hk_slab_base(s));
}

void hk_tiny_free_slow(hk_tiny_cache_t *tc, hk_slab_t *s, void *p) {
  unsigned cls = s->cls;
  hk_tiny_list_t *l = &tc->list[cls];
  if ((hk_block_t *)p == l->head) bad_free(s, p, "double free of");
  /* The fast path decrements the countdown only when it pushes or when the
   * countdown runs out; any other way here, this free still counts. */
  if (tc->drain_countdown > 1) tc->drain_countdown--;
  else tc->drain_countdown = 0;
  if (tc->drain_countdown == 0) {
    /* Periodic drain: give the older part of every list back to the slabs, so
     * a slab whose blocks all came home returns to the pool. */
    for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) list_trim(tc, c, tc->list[c].limit / 4);
    tc->drain_countdown = tc->drain_interval ? tc->drain_interval : UINT32_MAX;
  }
  if (l->count >= l->limit) list_trim(tc, cls, l->limit / 2);
  hk_block_set_next((hk_block_t *)p, l->head);
  l->head = (hk_block_t *)p;
  l->count++;
}

void hk_tiny_cache_release(hk_tiny_cache_t *tc) {
  hk_tiny_flush(tc);
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) hk_seg_class_release_all(&tc->seg[c]);
}
