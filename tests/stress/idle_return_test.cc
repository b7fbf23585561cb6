// Small blocks (tiny and mid) freed by a thread that then goes idle, and then
// exits, come back to the OS within stated bounds and in bounded time,
// without malloc_trim. Built twice (stress.bzl): through the malloc override
// and through hak_*. RSS is checked natively; under ASan/TSan and QEMU only
// HAKMEM's counters (ACTIVE slabs, purged bytes), which hold everywhere.
//
// What the allocator does (default configuration, LIST route for tiny
// classes, see hakmem/front/front.c, hakmem/mid/mid.c, segment.c):
//  - A free goes to the freeing thread's cache first: per tiny class a list
//    of up to L_c = 256, 256, 256, 256, 128, 128, 64, 64 blocks (C0..C7,
//    front.c k_limit), per mid class a ring of 16 blocks (mid.h HK_MID_RING).
//    A cached block keeps its 64 KiB slab ACTIVE (and resident). The thread
//    also keeps its current slab of every class it used. So a thread that
//    freed a working set holding S_c slabs of class c keeps at most
//      P = sum_tiny min(L_c, S_c) + sum_mid min(16, S_c) + (classes used)
//    slabs while it is idle (worst case 1408 + 288 + 26 slabs = 108 MiB, with
//    blocks freed scattered over many slabs). Nothing returns them while the
//    thread makes no call: they come back when it exits, calls free() 2048
//    more times (the periodic drain trims its lists to a quarter) or calls
//    malloc_trim itself.
//  - A slab whose last block came back is EMPTY. Per class, R =
//    HAKMEM_EMPTY_SLAB_RESERVE (4) EMPTY slabs stay unpurged indefinitely.
//    A class that recycles slabs (takes slabs back from its own EMPTY list,
//    as a producer refilling what a consumer emptied does) may keep R + its
//    reuses in the current and previous decay period unpurged, and at most
//    G = 128 such "hot" slabs (8 MiB, segment.c HK_EMPTY_HOT_MAX) beyond the
//    reserves over all classes. Beyond that a release purges the class's
//    oldest unpurged EMPTY slab at once; a class that only frees is purged
//    down to R at once. A fully empty SuperSlab is purged at once (LRU of
//    HAKMEM_SS_LRU_MAX, then unmapped).
//  - Decay: the first slab-pool operation (a slab taken from or given back
//    to the pool, by any thread) at least D = 1000 ms after the previous
//    such tick (segment.c HK_EMPTY_PURGE_DELAY_MS) purges, per class, the
//    unpurged EMPTY slabs beyond R that were not needed since the previous
//    tick. An idle hot slab is purged by the second tick after its release:
//    within 2 D while pool operations go on. A program that makes no
//    allocator call at all purges nothing.
// The worker allocates the working set (every class), frees it in a
// scattered order, then recycles slabs of two classes (allocates and frees
// 2 MiB of 1 KiB and of 8 KiB blocks, four times, in order: H = 2 x (32 - 4
// - R) hot slabs expected) and idles; then it exits. U = EMPTY slabs the
// working set's frees left unpurged, from HAKMEM's counters (slabs released
// minus 64 KiB units purged). Bounds asserted (base = before the worker
// started; slack 4 MiB for SuperSlab headers, page tables and the test
// itself; noise 4 slabs the main thread may take meanwhile):
//   idle, at once:        ACTIVE slabs - base <= P + noise;  U <= 26 R + G;
//                         RSS - base <= (P + 26 R + G) x 64 KiB + slack
//   idle, after 3 pool operations D + 150 ms apart (two ticks for sure):
//                         slabs purged >= H - noise and >= U - 26 R - noise;
//                         RSS - base <= (P + 26 R) x 64 KiB + slack
//   exited, at once:      ACTIVE slabs <= base + noise;  U <= 26 R + G;
//                         RSS - base <= (26 R + G) x 64 KiB + slack
//   exited, after the same 3 pool operations: slabs purged >= U - 26 R -
//                         noise;  RSS - base <= 26 R x 64 KiB + slack
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/stress/stress_common.h"

#if HAK_STRESS_MALLOC
#define T_TRIM malloc_trim
#else
#define T_TRIM hak_trim
#endif

namespace {

using hkstress::kMiB;

constexpr size_t kSlab = 64 * 1024;
constexpr unsigned kTiny = 8, kMid = 18, kClasses = kTiny + kMid;
// hakmem/core/size_class.c hk_class_size.
constexpr uint32_t kClassSize[kClasses] = {8,    16,   32,   64,   128,  256,  512,   1024,  1280,
                                           1536, 1792, 2048, 2560, 3072, 3584, 4096,  5120,  6144,
                                           7168, 8192, 9344, 10880, 13056, 16384, 21760, 32768};
// Blocks a thread may cache per class: front.c k_limit (tiny), mid.h HK_MID_RING.
constexpr uint32_t kCache[kClasses] = {256, 256, 256, 256, 128, 128, 64, 64, 16, 16, 16, 16, 16,
                                       16,  16,  16,  16,  16,  16,  16, 16, 16, 16, 16, 16, 16};
// segment.c: HK_EMPTY_HOT_MAX and HK_EMPTY_PURGE_DELAY_MS, unless the policy
// box has variables for them.
constexpr uint64_t kHotSlabs = 128;
constexpr uint64_t kDelayMs = 1000;
constexpr size_t kSlack = 4 * kMiB;
constexpr uint64_t kNoise = 4;

uint64_t Policy(const char *name, uint64_t fallback) {
  uint64_t v = hkt_stress_policy_value(name);
  return v == UINT64_MAX ? fallback : v;
}

// One slab-pool operation: a new thread takes a slab for its first block
// and gives it back when it exits.
void PoolOp() {
  std::thread([] {
    void *p = T_MALLOC(64);
    T_FREE(p);
  }).join();
}

// Two decay ticks are sure to have run after the third of these operations.
void LetDecayRun(uint64_t delay_ms) {
  PoolOp();
  for (int i = 0; i < 2; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms + 150));
    PoolOp();
  }
}

TEST(IdleReturn, SmallBlocksOfAnIdleAndThenExitedThread) {
  const bool check_rss = !HAK_STRESS_SANITIZER && !hkstress::UnderQemu();
  const uint64_t reserve = Policy("HAKMEM_EMPTY_SLAB_RESERVE", 4);
  const uint64_t hot = Policy("HAKMEM_EMPTY_SLAB_CACHE_BYTES", kHotSlabs * kSlab) / kSlab;
  const uint64_t delay_ms = Policy("HAKMEM_EMPTY_SLAB_PURGE_DELAY_MS", kDelayMs);
  const unsigned div = HAK_STRESS_TSAN ? 2 : 1;
  // Bytes per class: C0..C5 1 MiB, C6 and C7 16 MiB, mid classes 4 MiB each
  // (110 MiB): the classes with short caches get many slabs.
  size_t bytes[kClasses];
  uint64_t pinned = kClasses;  // P: the current slabs ...
  size_t total = 0, nblocks = 0;
  for (unsigned c = 0; c < kClasses; c++) {
    bytes[c] = (c < 6 ? 1 : c < kTiny ? 16 : 4) * kMiB / div;
    const uint64_t count = bytes[c] / kClassSize[c];
    nblocks += count;
    const uint64_t per_slab = kSlab / kClassSize[c];
    const uint64_t slabs = (count + per_slab - 1) / per_slab + 1;
    pinned += std::min<uint64_t>(kCache[c], slabs);  // ... and what the caches can pin
    total += bytes[c];
  }
  // Enough slabs are released beyond the reserves to fill the hot bound.
  ASSERT_GE(total / kSlab, pinned + kClasses * reserve + 2 * hot) << "working set too small for the bounds";
  const uint64_t kept = kClasses * reserve;  // EMPTY slabs the reserves keep unpurged

  T_TRIM(0);  // start clean
  std::vector<void *> blocks;
  blocks.reserve(nblocks);
  std::mutex mu;
  std::condition_variable cv;
  int phase = 0;  // 1: the worker freed everything and idles; 2: it may exit
  hak_stats_t peak;   // when the worker had allocated its working set
  hak_stats_t freed;  // when it had freed it (before the recycling rounds)
  size_t allocated = 0;
  const size_t kRound = 2 * kMiB / div;
  // Hot slabs the recycling rounds leave: per class, the round's slabs less
  // the current slab, those a cache may pin (a list of 64 1 KiB blocks or a
  // ring of 16 8 KiB blocks spans 2 slabs at most), one partly filled, and
  // the reserve.
  const uint64_t round_slabs = kRound / kSlab;
  const uint64_t expect_hot = round_slabs > 4 + reserve ? 2 * (round_slabs - 4 - reserve) : 0;
  const size_t rss0 = hkstress::RssBytes();
  const hak_stats_t st0 = hkstress::Stats();

  std::thread worker([&] {
    for (unsigned c = 0; c < kClasses; c++) {
      for (size_t sum = 0; sum + kClassSize[c] <= bytes[c]; sum += kClassSize[c]) {
        void *p = T_MALLOC(kClassSize[c]);
        if (p == nullptr) break;
        memset(p, 0x3c, kClassSize[c]);
        blocks.push_back(p);
      }
    }
    peak = hkstress::Stats();
    allocated = blocks.size();
    hkstress::Rng r(5);
    for (size_t i = blocks.size(); i > 1; i--) std::swap(blocks[i - 1], blocks[r.Below(i)]);
    for (void *p : blocks) T_FREE(p);
    freed = hkstress::Stats();
    // Then recycling: rounds of kRound bytes of 1 KiB and of 8 KiB blocks,
    // allocated and freed in order, take slabs back from their class's EMPTY
    // list (as a producer refilling what a consumer emptied does), so these
    // two classes keep their emptied slabs unpurged (hot) until the decay.
    blocks.clear();
    for (int round = 0; round < 4; round++) {
      for (size_t size : {size_t{1024}, size_t{8192}}) {
        for (size_t sum = 0; sum < kRound; sum += size) {
          void *p = T_MALLOC(size);
          if (p == nullptr) break;
          memset(p, 0x2c, size);
          blocks.push_back(p);
        }
      }
      for (void *p : blocks) T_FREE(p);
      blocks.clear();
    }
    std::unique_lock<std::mutex> l(mu);
    phase = 1;
    cv.notify_all();
    cv.wait(l, [&] { return phase == 2; });
  });
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return phase == 1; });
  }
  ASSERT_EQ(allocated, nblocks) << "an allocation failed";
  printf("working set %zu MiB; bounds: P = %llu slabs, R = %llu, G = %llu slabs, D = %llu ms\n", total / kMiB,
         static_cast<unsigned long long>(pinned), static_cast<unsigned long long>(reserve),
         static_cast<unsigned long long>(hot), static_cast<unsigned long long>(delay_ms));

  // Slabs given back to the pool between two snapshots, less those purged
  // meanwhile (at once beyond the bounds, or with their SuperSlab): the
  // EMPTY slabs left unpurged.
  auto unpurged = [](const hak_stats_t &a, const hak_stats_t &b) {
    uint64_t released = a.slabs_active - std::min(a.slabs_active, b.slabs_active);
    uint64_t purged = (b.os_purged_bytes - a.os_purged_bytes) / kSlab;
    return released - std::min(released, purged);
  };
  auto grown = [rss0](size_t rss) { return rss - std::min(rss, rss0); };

  // ---- idle ------------------------------------------------------------------
  const size_t rss1 = hkstress::RssBytes();
  const hak_stats_t st1 = hkstress::Stats();
  const uint64_t active1 = st1.slabs_active - std::min(st1.slabs_active, st0.slabs_active);
  const uint64_t dirty1 = unpurged(peak, freed);
  printf("idle: %llu slabs ACTIVE beyond the start, %llu EMPTY unpurged, RSS +%zu MiB\n",
         static_cast<unsigned long long>(active1), static_cast<unsigned long long>(dirty1), grown(rss1) / kMiB);
  // (+ kNoise: slabs the main thread may take meanwhile, e.g. for std::thread.)
  EXPECT_LE(active1, pinned + kNoise) << "slabs beyond what the idle thread's caches can hold";
  EXPECT_LE(dirty1, kept + hot) << "EMPTY slabs beyond the reserves and the hot bound must be purged at once";
  if (check_rss) {
    EXPECT_LE(grown(rss1), (pinned + kept + hot) * kSlab + kSlack);
  }

  LetDecayRun(delay_ms);
  const size_t rss2 = hkstress::RssBytes();
  const hak_stats_t st2 = hkstress::Stats();
  const uint64_t decayed2 = (st2.os_purged_bytes - st1.os_purged_bytes) / kSlab;
  const uint64_t active2 = st2.slabs_active - std::min(st2.slabs_active, st0.slabs_active);
  printf("idle, after the decay: %llu slabs purged (%llu hot expected), RSS +%zu MiB\n",
         static_cast<unsigned long long>(decayed2), static_cast<unsigned long long>(expect_hot), grown(rss2) / kMiB);
  EXPECT_GE(decayed2 + kNoise, expect_hot) << "the hot EMPTY slabs must be purged after the delay";
  EXPECT_GE(decayed2 + kept + kNoise, dirty1) << "EMPTY slabs beyond the reserves must be purged after the delay";
  if (check_rss) {
    EXPECT_LE(grown(rss2), (pinned + kept) * kSlab + kSlack);
    EXPECT_LE(grown(rss2), (active2 + kept) * kSlab + kSlack);
  }

  // ---- exited -------------------------------------------------------------------
  {
    std::lock_guard<std::mutex> l(mu);
    phase = 2;
  }
  cv.notify_all();
  worker.join();
  const size_t rss3 = hkstress::RssBytes();
  const hak_stats_t st3 = hkstress::Stats();
  const uint64_t dirty3 = unpurged(st2, st3);
  printf("exited: %lld slabs ACTIVE beyond the start, %llu EMPTY unpurged, RSS +%zu MiB\n",
         static_cast<long long>(st3.slabs_active) - static_cast<long long>(st0.slabs_active),
         static_cast<unsigned long long>(dirty3), grown(rss3) / kMiB);
  EXPECT_LE(st3.slabs_active, st0.slabs_active + kNoise) << "the exited thread's slabs are returned to the pool";
  EXPECT_EQ(hkt_stress_slabs_abandoned(), 0u);
  EXPECT_LE(dirty3, kept + hot) << "EMPTY slabs beyond the reserves and the hot bound must be purged at once";
  if (check_rss) {
    EXPECT_LE(grown(rss3), (kept + hot) * kSlab + kSlack);
  }

  LetDecayRun(delay_ms);
  const size_t rss4 = hkstress::RssBytes();
  const hak_stats_t st4 = hkstress::Stats();
  const uint64_t decayed4 = (st4.os_purged_bytes - st3.os_purged_bytes) / kSlab;
  printf("exited, after the decay: %llu slabs purged, RSS +%zu MiB\n", static_cast<unsigned long long>(decayed4),
         grown(rss4) / kMiB);
  EXPECT_GE(decayed4 + kept + kNoise, dirty3) << "EMPTY slabs beyond the reserves must be purged after the delay";
  if (check_rss) {
    EXPECT_LE(grown(rss4), kept * kSlab + kSlack);
  }
  EXPECT_EQ(hkt_stress_seg_check(), 0);
}

}  // namespace
