/* hakmem/front/front.c — slow paths of the tiny front (see front.h). */
#include "hakmem/front/front.h"

#include "hakmem/core/report.h"

hk_slab_t hk_tiny_no_page;

/* Points the granules of class cls at its current page (or at no page).
 * C0 owns granule 0, and Cc (c >= 1) granules 2^(c-1) .. 2^c - 1: C3 and up
 * are filled four pointers per iteration, with 16-byte stores (this runs at
 * every page switch; C7 has 64 granules). */
typedef uintptr_t hk_page_pair_t __attribute__((vector_size(2 * sizeof(uintptr_t))));

static void page_refresh(hk_tiny_t *h, unsigned cls) {
  hk_slab_t *cur = h->seg[cls].current;
  hk_slab_t *p = h->fast[cls] && cur != NULL ? cur : &hk_tiny_no_page;
  unsigned lo = (1u << cls) >> 1, hi = 1u << cls; /* [lo, hi), C0: [0, 1) */
  if (h->page[lo] == p) return;
  if (cls < 3) {
    for (unsigned g = lo; g < hi; g++) h->page[g] = p;
    return;
  }
  hk_page_pair_t v = {(uintptr_t)p, (uintptr_t)p};
  for (unsigned g = lo; g < hi; g += 4) {
    __builtin_memcpy(&h->page[g], &v, sizeof(v));
    __builtin_memcpy(&h->page[g + 2], &v, sizeof(v));
  }
}

void hk_tiny_init(hk_tiny_t *h, const uint8_t *meta, const uint8_t *fast) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) {
    h->mode[c] = meta[c] <= HK_TINY_ULTRA ? meta[c] : HK_TINY_PER_OP;
    h->fast[c] = fast[c];
    page_refresh(h, c);
  }
}

static void *pop_current(hk_tiny_t *h, unsigned cls) {
  hk_slab_t *s = h->seg[cls].current;
  if (s == NULL || s->free == NULL) return NULL;
  hk_block_t *b = s->free;
  hk_block_t *next = hk_block_next(b);
  /* The slow route validates the link it follows next time (the fast
   * path cannot afford it: README "Bad frees"). */
  hk_seg_link_check(s, b, next);
  s->free = next;
  s->live++;
  if (h->mode[cls] == HK_TINY_PER_OP) hk_seg_meta_flush(s);
  return b;
}

void *hk_tiny_alloc_slow(hk_tiny_t *h, unsigned cls, uintptr_t owner) {
  void *p = pop_current(h, cls);
  if (p == NULL) {
    bool ok = hk_seg_alloc_slow_from_class(&h->seg[cls], cls, owner);
    page_refresh(h, cls);
    if (!ok) return NULL;
    p = pop_current(h, cls);
  }
  return p;
}

void hk_tiny_page_emptied(hk_tiny_t *h, hk_slab_t *s) {
  unsigned cls = s->cls;
  /* The current page stays current (and its counters are synced at its next
   * boundary): a malloc/free ping-pong of one block empties it every time. */
  if (s == h->seg[cls].current) return;
  hk_seg_page_becomes_empty(&h->seg[cls], s);
  page_refresh(h, cls);
}

static HAK_COLD HAK_NORETURN void bad_free(const hk_slab_t *s, const void *p, const char *what) {
  hk_fatal("free(): %s %p (tiny block size %u, slab %p)", what, p, s->block_size, (void *)hk_slab_base(s));
}

void hk_tiny_free_local(hk_tiny_t *h, hk_slab_t *s, void *p) {
  unsigned cls = s->cls;
  /* On top of the page's list, or more frees than allocations. */
  if ((hk_block_t *)p == s->free || s->live <= 0) bad_free(s, p, "double free of");
  hk_block_set_next((hk_block_t *)p, s->free);
  s->free = (hk_block_t *)p;
  s->live--;
  if (h->mode[cls] == HK_TINY_PER_OP) hk_seg_meta_flush(s);
  if (s->live == 0) hk_tiny_page_emptied(h, s);
}

uint32_t hk_tiny_take(hk_tiny_t *h, unsigned cls, void **out, uint32_t n) {
  hk_slab_t *s = h->seg[cls].current;
  uint32_t k = 0;
  if (s == NULL) return 0;
  while (k < n && s->free != NULL) {
    hk_block_t *b = s->free;
    s->free = hk_block_next(b);
    hk_seg_link_check(s, b, s->free);
    out[k++] = b;
  }
  s->live += (int32_t)k;
  if (k != 0 && h->mode[cls] == HK_TINY_PER_OP) hk_seg_meta_flush(s);
  return k;
}

void hk_tiny_sync(hk_tiny_t *h) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) hk_seg_class_sync(&h->seg[c]);
}

void hk_tiny_release(hk_tiny_t *h) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) {
    hk_seg_class_release_all(&h->seg[c]);
    page_refresh(h, c);
  }
}

void hk_tiny_abandon_after_fork(hk_tiny_t *h) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) {
    hk_seg_class_abandon_after_fork(&h->seg[c]);
    page_refresh(h, c);
  }
}
