/* hakmem/core/lock.c — futex slow paths of hk_lock_t (see lock.h). */
#define _GNU_SOURCE
#include "hakmem/core/lock.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { HAK_LOCK_SPINS = 100 };

/* Both leave errno as they found it: FUTEX_WAIT fails with EAGAIN whenever
 * the lock changed before the wait, and a contended lock on the free path
 * would otherwise change the caller's errno (free() must not). */
static void futex_wait(hk_atomic_u32 *addr, uint32_t val) {
  int saved = errno;
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
  errno = saved;
}

static void futex_wake_one(hk_atomic_u32 *addr) {
  int saved = errno;
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  errno = saved;
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
