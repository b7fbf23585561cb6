/* tests/pagemap/pagemap_support.c — see pagemap_support.h. */
#include "tests/pagemap/pagemap_support.h"

#include "hakmem/pagemap/pagemap.h"

uintptr_t hkt_pm_get(uintptr_t p) { return hk_pagemap_get((const void *)p); }
int hkt_pm_set(uintptr_t base, size_t n, uintptr_t first, uintptr_t step) {
  return hk_pagemap_set(base, n, first, step);
}
void hkt_pm_clear(uintptr_t base, size_t n) { hk_pagemap_clear(base, n); }
unsigned hkt_pm_granule_shift(void) { return HK_PM_SHIFT; }
unsigned hkt_pm_leaf_shift(void) { return HK_PM_LEAF_SHIFT; }
