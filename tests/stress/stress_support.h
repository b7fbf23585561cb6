/* tests/stress/stress_support.h — what the stress tests need from inside the
 * segment box (segment.h is C11-only): the consistency walk and the pool
 * numbers that hak_stats_t does not carry. Call them only while no other
 * thread allocates (the walk drains abandoned slabs' remote queues). */
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

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_TESTS_STRESS_STRESS_SUPPORT_H */
