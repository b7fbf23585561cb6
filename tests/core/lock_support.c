/* tests/core/lock_support.c — see lock_support.h. Compiled as C11 with the
 * boxes' options so hk_lock_t's inline fast paths are the production ones. */
#include "tests/core/lock_support.h"

#include <string.h>

#include "hakmem/core/lock.h"

/* Plain zero-initialised statics: .bss, no initialiser, no constructor. */
static hk_lock_t g_static_locks[HK_TEST_STATIC_LOCKS];

static hk_lock_t *as_lock(hk_test_lock *l) { return (hk_lock_t *)(void *)l; }

hk_test_lock *hk_test_static_lock(unsigned i) {
  if (i >= HK_TEST_STATIC_LOCKS) return NULL;
  return (hk_test_lock *)(void *)&g_static_locks[i];
}

size_t hk_test_lock_size(void) { return sizeof(hk_lock_t); }
size_t hk_test_lock_align(void) { return _Alignof(hk_lock_t); }
hk_test_lock *hk_test_lock_from_storage(void *zeroed) { return (hk_test_lock *)zeroed; }

bool hk_test_lock_init_is_zero(void) {
  static const hk_lock_t init = HAK_LOCK_INIT;
  static const unsigned char zero[sizeof(hk_lock_t)];
  return memcmp(&init, zero, sizeof(hk_lock_t)) == 0;
}

void hk_test_lock_acquire(hk_test_lock *l) { hk_lock(as_lock(l)); }
void hk_test_lock_release(hk_test_lock *l) { hk_unlock(as_lock(l)); }
bool hk_test_lock_try(hk_test_lock *l) { return hk_trylock(as_lock(l)); }
void hk_test_lock_reset(hk_test_lock *l) { hk_lock_reset(as_lock(l)); }

uint32_t hk_test_lock_state(hk_test_lock *l) {
  return hk_atomic_load_acquire(&as_lock(l)->state);
}
