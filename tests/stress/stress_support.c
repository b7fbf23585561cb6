/* tests/stress/stress_support.c — see stress_support.h. */
#include "tests/stress/stress_support.h"

#include "hakmem/segment/segment.h"

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
