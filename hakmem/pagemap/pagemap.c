/* hakmem/pagemap/pagemap.c — leaves of the page map (see pagemap.h). */
#include "hakmem/pagemap/pagemap.h"

#include <stdbool.h>

#include "hakmem/core/lock.h"
#include "hakmem/core/os.h"

#define HK_PM_LEAF_ENTRIES ((size_t)1 << HK_PM_LEAF_BITS)

hk_atomic_word hk_pagemap_root[(size_t)1 << HK_PM_ROOT_BITS];
static hk_lock_t g_leaf_lock;

static hk_atomic_word *leaf_of(uintptr_t a, bool create) {
  hk_atomic_word *slot = &hk_pagemap_root[a >> HK_PM_LEAF_SHIFT];
  hk_atomic_word *leaf = (hk_atomic_word *)hk_atomic_load_acquire(slot);
  if (leaf != NULL || !create) return leaf;
  hk_lock(&g_leaf_lock);
  leaf = (hk_atomic_word *)hk_atomic_load_relaxed(slot);
  if (leaf == NULL) {
    void *mem;
    if (hk_os_reserve_aligned(HK_PM_LEAF_ENTRIES * sizeof(hk_atomic_word), hk_os_page_size(), true, &mem) == 0) {
      leaf = (hk_atomic_word *)mem;
      hk_atomic_store_release(slot, (uintptr_t)leaf);
    }
  }
  hk_unlock(&g_leaf_lock);
  return leaf;
}

int hk_pagemap_set(uintptr_t base, size_t n, uintptr_t first, uintptr_t step) {
  if (n == 0) return 0;
  uintptr_t last = base + ((n - 1) << HK_PM_SHIFT);
  if (last >> 48) return -1;
  for (uintptr_t a = base; a <= last; a += (uintptr_t)1 << HK_PM_SHIFT) {
    if (leaf_of(a, true) == NULL) return -1;
  }
  uintptr_t v = first;
  for (uintptr_t a = base; a <= last; a += (uintptr_t)1 << HK_PM_SHIFT, v += step) {
    hk_atomic_word *leaf = leaf_of(a, false);
    hk_atomic_store_release(&leaf[(a >> HK_PM_SHIFT) & (HK_PM_LEAF_ENTRIES - 1)], v);
  }
  return 0;
}

void hk_pagemap_clear(uintptr_t base, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uintptr_t a = base + (i << HK_PM_SHIFT);
    if (a >> 48) return;
    hk_atomic_word *leaf = leaf_of(a, false);
    if (leaf != NULL) hk_atomic_store_release(&leaf[(a >> HK_PM_SHIFT) & (HK_PM_LEAF_ENTRIES - 1)], 0);
  }
}
