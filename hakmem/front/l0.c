/* hakmem/front/l0.c — magazine fill and flush (see l0.h). */
#include "hakmem/front/l0.h"

uint32_t hk_l0_fill(hk_l0_t *l, hk_tiny_t *h, unsigned cls) {
  hk_l0_mag_t *m = &l->mag[cls];
  if (m->n != 0) return 0;
  m->n = hk_tiny_take(h, cls, m->slot, HK_L0_CAP / 2);
  return m->n;
}

void hk_l0_flush(hk_l0_t *l, hk_tiny_t *h) {
  for (unsigned c = 0; c < HK_L0_CLASSES; c++) {
    hk_l0_mag_t *m = &l->mag[c];
    while (m->n > 0) {
      void *p = m->slot[--m->n];
      hk_tiny_free_local(h, hk_seg_slab_of(p), p);
    }
  }
}
