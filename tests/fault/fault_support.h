/* tests/fault/fault_support.h — what the fault-injection tests need from the
 * segment box (segment.h is C11-only): its consistency walk. Call it only
 * while no other thread allocates. (The same wrapper as
 * tests/stress/stress_support.h, whose target is private to tests/stress.) */
#ifndef HAKMEM_TESTS_FAULT_FAULT_SUPPORT_H
#define HAKMEM_TESTS_FAULT_FAULT_SUPPORT_H

#ifdef __cplusplus
extern "C" {
#endif

/* hk_seg_check(): 0 or the number of problems found (each reported on
 * stderr): slab lists, free lists, SuperSlab counts and the census of the
 * SuperSlab live-block counters. */
int hkt_fault_seg_check(void);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_TESTS_FAULT_FAULT_SUPPORT_H */
