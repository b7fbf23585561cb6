/* hakmem/front/l0.c — magazine flush (see l0.h). */
#include "hakmem/front/l0.h"

void hk_l0_flush(hk_l0_t *l, hk_tiny_cache_t *tc) {
  for (unsigned c = 0; c < HK_L0_CLASSES; c++) {
    hk_l0_mag_t *m = &l->mag[c];
    while (m->n > 0) hk_tiny_return(tc, m->slot[--m->n]);
  }
}
