/* tests/fuzz/fuzz_support.h — what the API fuzzer needs from inside the
 * segment box (segment.h is C11-only): its consistency walk. Call it only
 * while no other thread allocates (the walk drains abandoned slabs' remote
 * queues). Same wrapper as tests/stress/stress_support.h, whose library is
 * private to tests/stress. */
#ifndef HAKMEM_TESTS_FUZZ_FUZZ_SUPPORT_H
#define HAKMEM_TESTS_FUZZ_FUZZ_SUPPORT_H

#ifdef __cplusplus
extern "C" {
#endif

/* hk_seg_check(): 0 or the number of problems found (each reported on
 * stderr as "hakmem: check: ..."). */
int hkt_fuzz_seg_check(void);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_TESTS_FUZZ_FUZZ_SUPPORT_H */
