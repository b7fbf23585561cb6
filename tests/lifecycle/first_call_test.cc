// The process's first HAKMEM call decides nothing by accident: the policy is
// applied even when that call is a large calloc (no thread cache involved),
// and a pthread_atfork that allocates inside initialisation does not give the
// calling thread two caches. Uses hak_* only (nothing else initialises
// HAKMEM first), one test, so the order is fixed.
#include <gtest/gtest.h>
#include <pthread.h>
#include <stdlib.h>

#include "hakmem/hakmem.h"

namespace {

void Noop() {}

hak_stats_t Stats() {
  hak_stats_t st{};
  st.size = sizeof(st);
  hak_stats_get(&st);
  return st;
}

TEST(FirstCall, PolicyAppliesAndOneCachePerThread) {
  ASSERT_EQ(setenv("HAKMEM_LARGE_CACHE_BYTES", "0", 1), 0);
  // Enough handlers that glibc keeps them in malloc'ed memory, so HAKMEM's
  // own pthread_atfork call (inside its initialisation) allocates.
  for (int i = 0; i < 64; i++) ASSERT_EQ(pthread_atfork(Noop, Noop, Noop), 0);

  // First call: a large calloc. With HAKMEM_LARGE_CACHE_BYTES=0 applied, the
  // freed span is purged at once.
  void* big = hak_calloc(1, 100000);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(static_cast<unsigned char*>(big)[99999], 0);
  hak_free(big);
  EXPECT_EQ(Stats().large_cached_bytes, 0u) << "the environment was not read by the first call";

  void* small = hak_malloc(32);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(Stats().threads_live, 1u) << "one thread, one cache";
  hak_free(small);
}

}  // namespace
