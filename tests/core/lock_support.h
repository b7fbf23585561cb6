/* tests/core/lock_support.h — C shim that lets the C++ lock tests drive
 * hk_lock_t (hakmem/core/lock.h is C11-only: atomic.h #errors in C++).
 *
 * A hk_test_lock is an opaque handle that really points at an hk_lock_t. The
 * handles come from zero-initialised static storage (never touched by any
 * initialiser code) or from caller-provided zero-filled storage. */
#ifndef HAKMEM_TESTS_CORE_LOCK_SUPPORT_H
#define HAKMEM_TESTS_CORE_LOCK_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hk_test_lock hk_test_lock;

/* Number of static locks hk_test_static_lock() hands out. */
#define HK_TEST_STATIC_LOCKS 8u

/* The i-th of HK_TEST_STATIC_LOCKS zero-initialised static hk_lock_t
 * (i < HK_TEST_STATIC_LOCKS). No code ever initialises them. */
hk_test_lock *hk_test_static_lock(unsigned i);

/* sizeof / _Alignof hk_lock_t, for tests that place a lock in their own
 * zero-filled memory (hk_test_lock_from_storage). */
size_t hk_test_lock_size(void);
size_t hk_test_lock_align(void);
hk_test_lock *hk_test_lock_from_storage(void *zeroed);

/* true if HAK_LOCK_INIT is the all-zero bit pattern. */
bool hk_test_lock_init_is_zero(void);

void hk_test_lock_acquire(hk_test_lock *l);   /* hk_lock */
void hk_test_lock_release(hk_test_lock *l);   /* hk_unlock */
bool hk_test_lock_try(hk_test_lock *l);       /* hk_trylock */
void hk_test_lock_reset(hk_test_lock *l);     /* hk_lock_reset */

/* The raw state word (acquire load): 0 unlocked, 1 locked, 2 contended. */
uint32_t hk_test_lock_state(hk_test_lock *l);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_TESTS_CORE_LOCK_SUPPORT_H */
