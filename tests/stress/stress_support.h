/* tests/stress/stress_support.h — what the stress tests need from inside the
 * segment and policy boxes (segment.h is C11-only): the consistency walk,
 * the census of the slab counters, the pool numbers that hak_stats_t does
 * not carry, and the policy snapshot's values. Call the segment ones only
 * while no other thread allocates (the walk drains abandoned slabs' remote
 * queues; the census reads owner-only fields). */
#ifndef HAKMEM_TESTS_STRESS_STRESS_SUPPORT_H
#define HAKMEM_TESTS_STRESS_STRESS_SUPPORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* hk_seg_check(): 0 or the number of problems found (each reported). */
int hkt_stress_seg_check(void);

/* Slabs of exited threads still waiting for blocks / adoption, and EMPTY
 * slabs in the pool. */
uint64_t hkt_stress_slabs_abandoned(void);
uint64_t hkt_stress_slabs_empty(void);

#define HKT_STRESS_CLASSES 26 /* HAK_SMALL_CLASSES: C0..C7 tiny, C8..C25 mid */

/* hk_seg_census() plus what it counts as in use without being with the
 * program: blocks freed by other threads and still waiting in their slab's
 * remote queue or in the freeing thread's batch (counted in the slab's
 * `used` until its owner, a trim or an adoption drains them). At a quiescent point, for class c:
 *   used[c] == blocks the program holds + blocks in thread caches
 *              + remote_pending[c]. */
typedef struct hkt_stress_census {
  uint64_t used[HKT_STRESS_CLASSES];           /* exact count of ACTIVE slabs, per class */
  uint64_t remote_pending[HKT_STRESS_CLASSES]; /* blocks in remote queues and batches */
  uint64_t live_blocks;                        /* sum of the SuperSlabs' live_blocks */
  uint64_t used_total;                         /* sum of used[] */
  uint64_t superslabs;                         /* SuperSlabs found in the region registry */
  uint32_t mismatched_superslabs;              /* live_blocks != its slabs' flushed counts */
  uint32_t counters_maintained;                /* 0 when a class runs meta mode ULTRA */
} hkt_stress_census_t;
void hkt_stress_census(hkt_stress_census_t *out);

/* The value the policy snapshot (what the allocator was configured with)
 * holds for the HAKMEM_* variable `name`; UINT64_MAX for an unknown name. */
uint64_t hkt_stress_policy_value(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_TESTS_STRESS_STRESS_SUPPORT_H */
