// malloc_trim(0) (hak_trim(0) in the hak_* build) returns memory at once:
// after a big working set of tiny, mid and large blocks is freed, one trim
// call brings RSS and HAKMEM's own counters down to a small stated bound, and
// returns 1 because it released memory (0 when called again with nothing left
// to release). Built twice (stress.bzl): through the malloc override and
// through hak_*. RSS assertions run natively; under ASan/TSan (shadow memory,
// quarantine) and QEMU (its own RSS) only HAKMEM's counters are checked,
// which hold everywhere.
//
// What a trim keeps (hakmem/alloc.c hk_api_trim, segment.c hk_seg_trim,
// large.c hk_large_trim): the calling thread's caches are flushed, every
// EMPTY slab is purged, the LRU of empty SuperSlabs and the spare large
// segment are unmapped and every cached large span is purged. What stays is
// the calling thread's current slab of each class it used (a class's current
// slab stays with its thread even when empty: at most 26 slabs of 64 KiB =
// 1.6 MiB) and the SuperSlab headers holding them. Bound used:
//   RSS after trim - RSS before the working set <= kTrimBound = 8 MiB
//   (1.6 MiB of current slabs + headers + page tables, with room to spare).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "tests/stress/stress_common.h"

#if HAK_STRESS_MALLOC
#define T_TRIM malloc_trim
#else
#define T_TRIM hak_trim
#endif

namespace {

using hkstress::kMiB;

constexpr unsigned kSmallClasses = 26;  // C0..C7 tiny, C8..C25 mid
constexpr size_t kTrimBound = 8 * kMiB;

struct Range {
  size_t min, max, total;
};

TEST(TrimReturn, TrimReleasesAtOnce) {
  const unsigned slow = hkstress::Slowdown();
  // 48 MiB tiny, 48 MiB mid, 96 MiB large on plain x86-64.
  const Range ranges[] = {{16, 1024, 48 * kMiB / slow},
                          {1025, 32768, 48 * kMiB / slow},
                          {32769, 900 * 1024, 96 * kMiB / slow}};
  const bool check_rss = !HAK_STRESS_SANITIZER && !hkstress::UnderQemu();

  // Start from a trimmed state, so that the bound below is about this test.
  T_TRIM(0);
  hkstress::Rng rng(7);
  std::vector<void *> blocks;
  blocks.reserve(200000 / slow + 1000);
  size_t total = 0;
  const size_t rss0 = hkstress::RssBytes();
  const hak_stats_t st0 = hkstress::Stats();
  for (const Range &r : ranges) {
    for (size_t sum = 0; sum < r.total;) {
      size_t n = r.min + rng.Below(r.max - r.min + 1);
      void *p = T_MALLOC(n);
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

  for (size_t i = 0; i < blocks.size(); i++) std::swap(blocks[i], blocks[(i * 7919) % blocks.size()]);
  for (void *p : blocks) T_FREE(p);
  const size_t rss2 = hkstress::RssBytes();

  const int first = T_TRIM(0);
  const size_t rss3 = hkstress::RssBytes();
  const hak_stats_t st3 = hkstress::Stats();
  const int second = T_TRIM(0);  // nothing left to release
  const hak_stats_t st4 = hkstress::Stats();

  printf("working set %zu MiB: RSS %zu MiB at start, %zu MiB full, %zu MiB after the frees, %zu MiB after trim\n",
         total / kMiB, rss0 / kMiB, rss1 / kMiB, rss2 / kMiB, rss3 / kMiB);
  EXPECT_EQ(first, 1) << "trim released memory and must say so";
  EXPECT_EQ(second, 0) << "a second trim had nothing to release";
  EXPECT_EQ(st4.os_purged_bytes, st3.os_purged_bytes) << "the second trim purged memory";
  EXPECT_EQ(st4.os_munmap_calls, st3.os_munmap_calls) << "the second trim unmapped memory";

  // HAKMEM's counters, in every build.
  EXPECT_EQ(st3.large_live, st0.large_live);
  EXPECT_EQ(st3.large_cached_bytes, 0u) << "trim purges every cached large span";
  EXPECT_EQ(st3.superslabs_cached, 0u) << "trim unmaps the LRU of empty SuperSlabs";
  EXPECT_LE(st3.slabs_active, st0.slabs_active + kSmallClasses)
      << "only the current slab of each class may stay with this thread";
  EXPECT_EQ(hkt_stress_slabs_abandoned(), 0u);
  // What is still mapped beyond the start: the SuperSlabs of those current
  // slabs (one each at most); no large region (the spare is unmapped).
  EXPECT_LE(st3.os_mapped_bytes, st0.os_mapped_bytes + kSmallClasses * 2 * kMiB)
      << "mapped " << st0.os_mapped_bytes / kMiB << " MiB at start, " << st1.os_mapped_bytes / kMiB
      << " MiB full, " << st3.os_mapped_bytes / kMiB << " MiB after trim";
  // Returned to the OS since the frees began (purged or unmapped): all but
  // the bound.
  const uint64_t unmapped = st1.os_mapped_bytes - std::min(st1.os_mapped_bytes, st3.os_mapped_bytes);
  const uint64_t returned = st3.os_purged_bytes - st1.os_purged_bytes + unmapped;
  EXPECT_GE(returned + kTrimBound, total) << "returned " << returned / kMiB << " MiB of " << total / kMiB << " MiB";

  if (check_rss) {
    EXPECT_LE(rss3 - std::min(rss3, rss0), kTrimBound)
        << "RSS " << rss3 / kMiB << " MiB after trim, " << rss0 / kMiB << " MiB at start";
  }
}

}  // namespace
