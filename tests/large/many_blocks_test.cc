// 100,000 live 1.5 MiB blocks (one byte touched each: ~150 GB of address
// space, ~400 MB of user pages resident): the number of mappings stays far
// below vm.max_map_count (65,530 by default) because the blocks are carved
// from large regions, pthread_create works at the peak, and after the frees
// the mapping count is back within a small bound of where it started.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <vector>

#include "gtest/gtest.h"
#include "hakmem/hakmem.h"

namespace {

constexpr size_t kMiB = 1024 * 1024;
constexpr size_t kBlock = 3 * kMiB / 2;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// The sanitizers' bookkeeping of 150 GB of mappings is what would be tested.
constexpr size_t kBlocks = 10000;
#else
constexpr size_t kBlocks = 100000;
#endif

// Lines of /proc/self/maps = mappings of the process.
size_t MapCount() {
  FILE* f = fopen("/proc/self/maps", "r");
  if (f == nullptr) return 0;
  size_t n = 0;
  int c;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

void* Thread(void*) {
  void* p = hak_malloc(kBlock);
  if (p != nullptr) static_cast<char*>(p)[0] = 1;
  hak_free(p);
  return p;
}

bool ThreadWorks() {
  pthread_t t;
  if (pthread_create(&t, nullptr, Thread, nullptr) != 0) return false;
  void* r = nullptr;
  return pthread_join(t, &r) == 0 && r != nullptr;
}

TEST(ManyBlocksTest, HundredThousandHugeBlocksNeedFewMappings) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  // TSan adds mappings of its own for every mapping the process makes (950
  // for 10,000 blocks, 1,212 after the frees), and ASan's shadow of the
  // regions stays split after they are unmapped (+12 after 10,000 blocks):
  // the count would measure the sanitizer.
  GTEST_SKIP() << "mapping counts under a sanitizer are its own";
#endif
  hak_trim(0);
  std::vector<void*> blocks;
  blocks.reserve(kBlocks);
  const size_t before = MapCount();
  for (size_t i = 0; i < kBlocks; i++) {
    void* p = hak_malloc(kBlock);
    ASSERT_NE(p, nullptr) << "block " << i << " of " << kBlocks << ", " << MapCount() << " mappings";
    static_cast<char*>(p)[i % kBlock] = 1;
    blocks.push_back(p);
  }
  const size_t peak = MapCount();
  // Regions grow to 64 MiB: 42 blocks each, so about kBlocks / 42 mappings.
  EXPECT_LE(peak, before + kBlocks / 20) << "mappings: " << before << " at start, " << peak << " at the peak";
  EXPECT_TRUE(ThreadWorks()) << "pthread_create at the peak (" << peak << " mappings)";
  for (void* p : blocks) hak_free(p);
  const size_t after = MapCount();
  // What may stay: the spare empty region, registry leaves, and the
  // neighbours these split or merge.
  EXPECT_LE(after, before + 8) << "mappings: " << before << " at start, " << peak << " at the peak, " << after
                               << " after the frees";
  EXPECT_TRUE(ThreadWorks()) << "pthread_create after the frees";
  hak_trim(0);
  EXPECT_LE(MapCount(), before + 6);
  printf("mappings: %zu at start, %zu with %zu blocks of 1.5 MiB, %zu after the frees\n", before, peak, kBlocks,
         after);
}

}  // namespace
