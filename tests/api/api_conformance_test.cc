// API conformance of the hak_* entry points (SPEC §3 "Correctness contract"):
// sizes, alignment, realloc, calloc, aligned allocation, error reporting,
// hak_owns, hak_stats_get and hak_trim. Uses no malloc override, so it also
// runs under ASan/UBSan/TSan and on aarch64 (QEMU).
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/hakmem.h"
#include "tests/api/alloc_checks.h"

namespace hakmem_test {
namespace {

const AllocApi kHak = {
    "hak_*",
    hak_malloc,
    hak_free,
    hak_calloc,
    hak_realloc,
    hak_reallocarray,
    hak_posix_memalign,
    hak_aligned_alloc,
    hak_memalign,
    +[](void* p) -> size_t { return hak_usable_size(p); },
    hak_trim,
};

hak_stats_t Stats() {
  hak_stats_t st = {};
  st.size = sizeof(st);
  hak_stats_get(&st);
  return st;
}

// ---- sizes ------------------------------------------------------------------

TEST(ApiSizes, EverySizeUpTo64KiB) { SweepSizes(kHak, 65536, 1); }

TEST(ApiSizes, BigSizesUpTo64MiB) { SweepBigSizes(kHak); }

// ---- realloc ------------------------------------------------------------------

TEST(ApiRealloc, ContentsKeptAcrossEveryClassBoundary) { ReallocAcrossBoundaries(kHak); }
TEST(ApiRealloc, ContentsKeptBetweenTinyMidLargeHuge) { ReallocBetweenTiers(kHak); }
TEST(ApiRealloc, GrowthChainTo6MiBAndBack) { ReallocGrowthChain(kHak); }
TEST(ApiRealloc, InPlaceWithinTinyAndMidClasses) { ReallocInPlaceWithinClass(kHak); }
TEST(ApiRealloc, NullIsMallocAndZeroFrees) { ReallocNullAndZero(kHak); }

// ---- calloc / reallocarray --------------------------------------------------------

TEST(ApiCalloc, ZeroesRecycledBlocksOfEveryTier) { CallocZeroesRecycledBlocks(kHak); }
TEST(ApiCalloc, OverflowIsNullWithEnomem) { CallocOverflow(kHak); }
TEST(ApiCalloc, ZeroCountOrSizeGivesUniqueBlocks) { CallocZero(kHak); }
TEST(ApiReallocarray, OverflowIsEnomemAndKeepsTheBlock) { ReallocarrayOverflowKeepsBlock(kHak); }

// ---- aligned allocation -------------------------------------------------------------

TEST(ApiAligned, EveryPowerOfTwoAlignmentTimesSizes) { AlignedAllocations(kHak); }
TEST(ApiAligned, InvalidAlignments) { AlignmentErrors(kHak); }

// ---- malloc edge cases ----------------------------------------------------------------

TEST(ApiMalloc, ZeroSizeGivesDistinctPointers) { MallocZeroIsUnique(kHak); }
TEST(ApiMalloc, FreeNullIsANoOpAndFreeKeepsErrno) { FreeNullAndErrno(kHak); }
TEST(ApiMalloc, ImpossibleSizesFailWithEnomem) { ImpossibleSizes(kHak); }

// ---- hak_owns ---------------------------------------------------------------------------

alignas(64) char g_static_block[4096];

TEST(ApiOwns, ForeignAndGarbagePointersAreNotOwned) {
  alignas(16) char stack_block[256];
  memset(stack_block, 1, sizeof(stack_block));
  EXPECT_EQ(hak_owns(nullptr), 0);
  EXPECT_EQ(hak_owns(g_static_block), 0);
  EXPECT_EQ(hak_owns(g_static_block + 64), 0);
  EXPECT_EQ(hak_owns(stack_block), 0);
  EXPECT_EQ(hak_owns(stack_block + 16), 0);
  EXPECT_EQ(hak_owns(reinterpret_cast<void*>(&hak_malloc)), 0);
  void* m = mmap(nullptr, 2 * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  EXPECT_EQ(hak_owns(m), 0);
  EXPECT_EQ(hak_owns(Bytes(m) + 4096), 0);
  munmap(m, 2 * kMiB);
  for (uintptr_t garbage :
       {uintptr_t{1}, uintptr_t{16}, uintptr_t{0x1000}, uintptr_t{0xdeadbeef000},
        uintptr_t{1} << 47, uintptr_t{1} << 56, UINTPTR_MAX - 15, UINTPTR_MAX}) {
    EXPECT_EQ(hak_owns(reinterpret_cast<void*>(garbage)), 0) << std::hex << garbage;
  }
}

TEST(ApiOwns, InteriorPointersAreNotOwned) {
  struct Case {
    size_t size;
    std::vector<size_t> offsets;
  } const cases[] = {
      {16, {8}},
      {64, {8, 32, 63}},
      {1024, {8, 512}},
      {3000, {16, 128, 1024, 2999}},
      {32768, {16, 4096, 16384}},
      {100 * kKiB, {1, 16, 4096, 64 * kKiB}},
      {4 * kMiB, {16, 4096, 2 * kMiB}},
  };
  for (const Case& c : cases) {
    void* p = hak_malloc(c.size);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(hak_owns(p), 1) << c.size << " B";
    for (size_t off : c.offsets) {
      EXPECT_EQ(hak_owns(Bytes(p) + off), 0) << c.size << " B block " << p << " + " << off;
    }
    hak_free(p);
  }
}

TEST(ApiOwns, SuperSlabHeaderIsNotOwned) {
  void* p = hak_malloc(64);
  ASSERT_NE(p, nullptr);
  uint8_t* ss = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(p) & ~(2 * kMiB - 1));
  for (size_t off : {size_t{0}, size_t{64}, size_t{4096}, 64 * kKiB - 64}) {
    EXPECT_EQ(hak_owns(ss + off), 0) << "SuperSlab " << static_cast<void*>(ss) << " + " << off;
  }
  hak_free(p);
}

TEST(ApiOwns, FreedLargeAndHugeBlocksAreNotOwned) {
  void* keep = hak_malloc(100 * kKiB);  // keeps the large region in use
  void* large = hak_malloc(100 * kKiB);
  void* huge = hak_malloc(4 * kMiB);
  ASSERT_NE(keep, nullptr);
  ASSERT_NE(large, nullptr);
  ASSERT_NE(huge, nullptr);
  EXPECT_EQ(hak_owns(large), 1);
  EXPECT_EQ(hak_owns(huge), 1);
  hak_free(large);
  hak_free(huge);
  EXPECT_EQ(hak_owns(large), 0);
  EXPECT_EQ(hak_owns(huge), 0);
  EXPECT_EQ(hak_owns(keep), 1);
  hak_free(keep);
}

// ---- hak_stats_get ---------------------------------------------------------------------

// A thread that only frees another thread's blocks (a consumer) batches
// them per slab and hands them over at the latest when it exits: the owner's
// later mallocs get exactly those blocks back (after what its pages still
// have), none lost in a batch, none twice.
TEST(ApiRemoteFree, AConsumerThreadsBatchIsHandedBackAtItsExit) {
  constexpr int kN = 500;     // one 64 KiB slab of 64 B blocks holds 1024
  constexpr int kMore = 4096;  // enough to exhaust what the pages still hold
  std::vector<void *> blocks;
  for (int i = 0; i < kN; i++) {
    blocks.push_back(hak_malloc(64));
    ASSERT_NE(blocks.back(), nullptr);
  }
  std::thread consumer([&] {
    for (void *p : blocks) hak_free(p);
  });
  consumer.join();
  std::set<void *> freed(blocks.begin(), blocks.end());
  std::set<void *> again;
  for (int i = 0; i < kMore; i++) {
    void *p = hak_malloc(64);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(again.insert(p).second) << "handed out twice: " << p;
  }
  size_t back = 0;
  for (void *p : freed) back += again.count(p);
  EXPECT_EQ(back, freed.size()) << "blocks freed by the exited consumer did not all come back";
  for (void *p : again) hak_free(p);
}

TEST(ApiStats, SuperSlabsLiveAfterSmallAllocations) {
  void* tiny = hak_malloc(64);
  void* mid = hak_malloc(5000);
  ASSERT_NE(tiny, nullptr);
  ASSERT_NE(mid, nullptr);
  hak_stats_t st = Stats();
  EXPECT_EQ(st.size, sizeof(hak_stats_t));
  EXPECT_GT(st.superslabs_live, 0u);
  EXPECT_GE(st.slabs_active, 2u);  // one slab per class at least
  EXPECT_GE(st.threads_live, 1u);
  EXPECT_GT(st.os_mmap_calls, 0u);
  EXPECT_GE(st.os_mapped_bytes, st.superslabs_live * 2 * kMiB);
  hak_free(tiny);
  hak_free(mid);
}

TEST(ApiStats, LargeLiveCountsLiveLargeBlocks) {
  for (size_t size : {100 * kKiB, 3 * kMiB}) {
    SCOPED_TRACE(::testing::Message() << size << " B");
    hak_stats_t before = Stats();
    void* p = hak_malloc(size);
    ASSERT_NE(p, nullptr);
    hak_stats_t live = Stats();
    EXPECT_EQ(live.large_live, before.large_live + 1);
    EXPECT_GE(live.large_live_bytes, before.large_live_bytes + size);
    hak_free(p);
    hak_stats_t after = Stats();
    EXPECT_EQ(after.large_live, before.large_live);
    EXPECT_EQ(after.large_live_bytes, before.large_live_bytes);
  }
}

TEST(ApiStats, SizeHandshakeWritesOnlyTheCallersBytes) {
  struct Guarded {
    hak_stats_t st;
    uint8_t guard[64];
  };
  void* live = hak_malloc(64);  // superslabs_live > 0 below
  for (size_t n : {size_t{8}, offsetof(hak_stats_t, superslabs_cached),
                   offsetof(hak_stats_t, large_live), sizeof(hak_stats_t) - 8}) {
    Guarded g;
    memset(&g, 0xEE, sizeof(g));
    g.st.size = static_cast<uint32_t>(n);
    hak_stats_get(&g.st);
    EXPECT_EQ(g.st.size, n);
    EXPECT_TRUE(AllBytes(reinterpret_cast<uint8_t*>(&g) + n, sizeof(g) - n, 0xEE))
        << "hak_stats_get wrote past .size = " << n;
    if (n > offsetof(hak_stats_t, superslabs_live)) {
      EXPECT_GT(g.st.superslabs_live, 0u);
    }
  }
  // A caller built against a newer, larger hak_stats_t: only the fields this
  // version knows are written, and .size says how many.
  struct Newer {
    hak_stats_t st;
    uint64_t future[4];
  } newer;
  memset(&newer, 0xEE, sizeof(newer));
  newer.st.size = sizeof(newer);
  hak_stats_get(&newer.st);
  EXPECT_EQ(newer.st.size, sizeof(hak_stats_t));
  EXPECT_TRUE(AllBytes(newer.future, sizeof(newer.future), 0xEE));
  EXPECT_GT(newer.st.superslabs_live, 0u);
  hak_free(live);
}

// ---- hak_trim -------------------------------------------------------------------------

TEST(ApiTrim, ReleasesAFreedWorkingSet) { TrimReturnsMemory(kHak); }

TEST(ApiVersion, NamesTheVersion) {
  const char* v = hak_version();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(strncmp(v, "hakmem " HAKMEM_VERSION, strlen("hakmem " HAKMEM_VERSION)), 0) << v;
}

}  // namespace
}  // namespace hakmem_test
