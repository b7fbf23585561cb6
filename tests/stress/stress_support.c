/* tests/stress/stress_support.c — see stress_support.h. */
#include "tests/stress/stress_support.h"

#include <string.h>

#include "hakmem/alloc.h"
#include "hakmem/policy/policy.h"
#include "hakmem/segment/segment.h"

_Static_assert(HKT_STRESS_CLASSES == HAK_SMALL_CLASSES, "census arrays follow the class table");

int hkt_stress_seg_check(void) { return hk_seg_check(); }

uint64_t hkt_stress_slabs_abandoned(void) {
  hk_seg_stats_t st;
  hk_seg_stats_get(&st);
  return st.slabs_abandoned;
}

uint64_t hkt_stress_slabs_empty(void) {
  hk_seg_stats_t st;
  hk_seg_stats_get(&st);
  return st.slabs_empty;
}

/* Remote frees still queued, per class, over every SuperSlab in the region
 * registry (the segment box keeps its own list of SuperSlabs private; the
 * registry is the public map of what HAKMEM has mapped). */
static void count_remote_pending(hkt_stress_census_t *out) {
  const size_t roots = (size_t)1 << HK_REGISTRY_ROOT_BITS;
  const size_t leaves = (size_t)1 << HK_REGISTRY_LEAF_BITS;
  for (size_t r = 0; r < roots; r++) {
    const hk_atomic_word *leaf = (const hk_atomic_word *)hk_atomic_load_acquire(&hk_region_root[r]);
    if (leaf == NULL) continue;
    for (size_t l = 0; l < leaves; l++) {
      uintptr_t e = hk_atomic_load_relaxed(&leaf[l]);
      if ((e & HK_REGION_KIND_MASK) != HK_REGION_SUPERSLAB) continue;
      uintptr_t base = (uintptr_t)((r << HK_REGISTRY_LEAF_BITS) | l) << HK_SS_SHIFT;
      if ((e & ~HK_REGION_KIND_MASK) != base) continue;
      const hk_superslab_t *ss = (const hk_superslab_t *)base;
      if (ss->magic != HK_SS_MAGIC) continue;
      out->superslabs++;
      for (unsigned i = 1; i < HK_SS_SLABS; i++) {
        const hk_slab_t *s = &ss->slabs[i];
        if (s->state != HK_SLAB_ACTIVE || s->cls >= HAK_SMALL_CLASSES) continue;
        uint32_t n = 0;
        const hk_block_t *b = (const hk_block_t *)hk_atomic_load_acquire(&s->remote);
        for (; b != NULL && n <= s->capacity; b = hk_block_next(b)) n++;
        out->remote_pending[s->cls] += n;
      }
    }
  }
}

void hkt_stress_census(hkt_stress_census_t *out) {
  memset(out, 0, sizeof(*out));
  hk_seg_census_t c;
  hk_seg_census(&c);
  for (unsigned i = 0; i < HAK_SMALL_CLASSES; i++) out->used[i] = c.used[i];
  out->live_blocks = c.live_blocks;
  out->used_total = c.used_total;
  out->mismatched_superslabs = c.mismatched_superslabs;
  out->counters_maintained = c.counters_maintained;
  count_remote_pending(out);
  hk_api_remote_batched(out->remote_pending); /* freed into a thread's batch, not yet queued */
}

uint64_t hkt_stress_policy_value(const char *name) {
  const hk_policy_t *p = hk_policy_get();
  for (size_t i = 0; i < hk_policy_var_count(); i++) {
    if (strcmp(hk_policy_var(i)->name, name) == 0) return hk_policy_value(p, i);
  }
  return UINT64_MAX;
}
