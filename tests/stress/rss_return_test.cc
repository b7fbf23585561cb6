// Memory goes back to the OS without malloc_trim: after a program frees a big
// working set of tiny, mid and large blocks, RSS falls to within the
// documented caches at once (the large cache's byte bound), and below a
// smaller bound after the purge delay. Built twice (stress.bzl): through the
// malloc override and through hak_*. RSS assertions run natively; under
// sanitizers (shadow memory) and QEMU (its own RSS) HAKMEM's OS counters are
// checked instead.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "stress_common.h"

namespace {

using hkstress::kMiB;

struct Range {
  size_t min, max, total;
};

TEST(RssReturn, BigWorkingSetFreedWithoutTrim) {
  const unsigned slow = hkstress::Slowdown();
  // 48 MiB tiny, 48 MiB mid, 96 MiB large on plain x86-64.
  const Range ranges[] = {{16, 1024, 48 * kMiB / slow},
                          {1025, 32768, 48 * kMiB / slow},
                          {32769, 900 * 1024, 96 * kMiB / slow}};
  const bool check_rss = !HAK_STRESS_SANITIZER && !hkstress::UnderQemu();

  hkstress::Rng rng(42);
  std::vector<void*> blocks;
  size_t total = 0;
  const size_t rss0 = hkstress::RssBytes();
  const hak_stats_t st0 = hkstress::Stats();
  for (const Range& r : ranges) {
    for (size_t sum = 0; sum < r.total;) {
      size_t n = r.min + rng.Below(r.max - r.min + 1);
      void* p = T_MALLOC(n);
      ASSERT_NE(p, nullptr) << n;
      memset(p, 0x5c, n);  // make every page resident
      blocks.push_back(p);
      sum += n;
      total += n;
    }
  }
  const size_t rss1 = hkstress::RssBytes();
  const hak_stats_t st1 = hkstress::Stats();
  if (check_rss) {
    ASSERT_GE(rss1 - rss0, total * 8 / 10) << "the working set is not resident";
  }

  for (size_t i = 0; i < blocks.size(); i++) {
    // Free in a scattered order, as programs do.
    size_t j = (i * 7919) % blocks.size();
    std::swap(blocks[i], blocks[j]);
  }
  for (void* p : blocks) T_FREE(p);
  blocks.clear();
  blocks.shrink_to_fit();

  const size_t rss2 = hkstress::RssBytes();
  const hak_stats_t st2 = hkstress::Stats();
  // At once: what stays is bounded by the caches (large: 16 MiB by default;
  // small: the threads' lists, the current slab and a reserve of EMPTY slabs
  // per class), not by the working set.
  const size_t kImmediateBound = 48 * kMiB;
  if (check_rss) {
    EXPECT_LE(rss2 - std::min(rss2, rss0), kImmediateBound)
        << "RSS " << rss2 / kMiB << " MiB after freeing " << total / kMiB << " MiB (start "
        << rss0 / kMiB << " MiB)";
  }
  // The same bound in HAKMEM's own counters (bytes purged or unmapped since
  // the frees began), which also hold under sanitizers and QEMU.
  auto returned = [&st1](const hak_stats_t& st) {
    uint64_t unmapped = st1.os_mapped_bytes - std::min(st1.os_mapped_bytes, st.os_mapped_bytes);
    return st.os_purged_bytes - st1.os_purged_bytes + unmapped;
  };
  auto at_least = [total](size_t bound) { return total > bound ? total - bound : 0; };
  EXPECT_GE(returned(st2), at_least(kImmediateBound)) << "of " << total << " bytes freed";
  EXPECT_EQ(st2.large_live, st0.large_live);

  // After the purge delay (HAKMEM_LARGE_PURGE_DELAY_MS, 1 s by default) the
  // next large operation purges the rest of the large cache.
  usleep(1200 * 1000);
  T_FREE(T_MALLOC(100 * 1024));
  const size_t rss3 = hkstress::RssBytes();
  const hak_stats_t st3 = hkstress::Stats();
  // Only the probe block itself, freed after the purge, is cached now.
  EXPECT_LE(st3.large_cached_bytes, 100u * 1024u);
  EXPECT_GE(returned(st3), at_least(24 * kMiB)) << "of " << total << " bytes freed";
  if (check_rss) {
    EXPECT_LE(rss3 - std::min(rss3, rss0), 24 * kMiB)
        << "RSS " << rss3 / kMiB << " MiB after the purge delay (start " << rss0 / kMiB << " MiB)";
  }
}

}  // namespace
