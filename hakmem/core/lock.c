/* hakmem/core/lock.c — futex slow paths of hk_lock_t (see lock.h). */
#define _GNU_SOURCE
#include "hakmem/core/lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { HAK_LOCK_SPINS = 100 };

static void futex_wait(hk_atomic_u32 *addr, uint32_t val) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_one(hk_atomic_u32 *addr) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void hk_lock_slow(hk_lock_t *l) {
  for (int i = 0; i < HAK_LOCK_SPINS; i++) {
    if (hk_atomic_load_relaxed(&l->state) == 0u && hk_trylock(l)) return;
    hk_cpu_relax();
  }
  /* Mark contended; whoever unlocks a contended lock wakes one waiter. */
  while (atomic_exchange_explicit(&l->state, 2u, memory_order_acquire) != 0u) {
    futex_wait(&l->state, 2u);
  }
}

void hk_unlock_wake(hk_lock_t *l) { futex_wake_one(&l->state); }
