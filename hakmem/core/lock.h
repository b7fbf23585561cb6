/* hakmem/core/lock.h — a futex-based mutex usable before main().
 *
 * Owns: hk_lock_t, a three-state (unlocked / locked / contended) futex lock
 * that spins briefly before sleeping. A zero-filled hk_lock_t is unlocked, so
 * static locks need no initialiser or constructor and work while the dynamic
 * loader is still calling malloc. It never allocates. Not recursive.
 * Boundary: used by the segment, mid and large boxes for their shared
 * (cold-path) structures; the malloc/free fast paths take no lock. */
#ifndef HAKMEM_CORE_LOCK_H
#define HAKMEM_CORE_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hk_lock {
  hk_atomic_u32 state; /* 0 unlocked, 1 locked, 2 locked with waiters */
} hk_lock_t;

#define HAK_LOCK_INIT \
  { 0 }

void hk_lock_slow(hk_lock_t *l);
void hk_unlock_wake(hk_lock_t *l);

HAK_INLINE bool hk_trylock(hk_lock_t *l) {
  uint32_t expected = 0;
  return atomic_compare_exchange_strong_explicit(&l->state, &expected, 1u, memory_order_acquire,
                                                 memory_order_relaxed);
}

HAK_INLINE void hk_lock(hk_lock_t *l) {
  if (HAK_UNLIKELY(!hk_trylock(l))) hk_lock_slow(l);
}

HAK_INLINE void hk_unlock(hk_lock_t *l) {
  if (HAK_UNLIKELY(atomic_exchange_explicit(&l->state, 0u, memory_order_release) == 2u)) {
    hk_unlock_wake(l);
  }
}

/* After fork() in the child: the child has one thread, so any lock held by a
 * parent thread that no longer exists is simply reset. */
HAK_INLINE void hk_lock_reset(hk_lock_t *l) { hk_atomic_store_relaxed(&l->state, 0u); }

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_CORE_LOCK_H */
