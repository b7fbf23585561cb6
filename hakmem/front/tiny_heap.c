/* hakmem/front/tiny_heap.c — slow paths of the TinyHeap box (see
 * tiny_heap.h). */
#include "hakmem/front/tiny_heap.h"

#include "hakmem/core/report.h"

void hk_tiny_heap_init(hk_tiny_heap_t *h, const uint8_t *meta) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) h->mode[c] = meta[c] <= HK_HEAP_ULTRA ? meta[c] : HK_HEAP_PER_OP;
}

void *hk_tiny_heap_alloc_slow(hk_tiny_heap_t *h, unsigned cls, uintptr_t owner) {
  void *p = hk_tiny_heap_alloc_fast(h, cls);
  if (p != NULL) return p;
  if (!hk_seg_alloc_slow_from_class(&h->seg[cls], cls, owner)) return NULL;
  return hk_tiny_heap_alloc_fast(h, cls);
}

static HAK_COLD HAK_NORETURN void bad_free(const hk_slab_t *s, const void *p, const char *what) {
  hk_fatal("free(): %s %p (tiny block size %u, TinyHeap page %p)", what, p, s->block_size,
           (void *)hk_slab_base(s));
}

void hk_tiny_heap_free_slow(hk_tiny_heap_t *h, hk_slab_t *s, void *p) {
  unsigned cls = s->cls;
  if ((hk_block_t *)p == s->free) bad_free(s, p, "double free of");
  unsigned m = h->mode[cls];
  if (m != HK_HEAP_ULTRA) {
    /* More frees than allocations on this page: a double free. */
    if (s->live <= 0) bad_free(s, p, "double free of");
    s->live--;
  }
  hk_block_set_next((hk_block_t *)p, s->free);
  s->free = (hk_block_t *)p;
  if (m == HK_HEAP_ULTRA) return;
  if (s->live == 0) hk_seg_page_becomes_empty(&h->seg[cls], s);
  else if (m == HK_HEAP_PER_OP) hk_seg_meta_flush(s);
}

void hk_tiny_heap_sync(hk_tiny_heap_t *h) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) hk_seg_class_sync(&h->seg[c]);
}

void hk_tiny_heap_release(hk_tiny_heap_t *h) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) hk_seg_class_release_all(&h->seg[c]);
}
