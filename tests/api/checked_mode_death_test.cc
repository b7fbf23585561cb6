// Checked mode (HAKMEM_CHECK=1, set for this test by its BUILD rule): every
// small block carries a "held by the program" bit, so the frees the release
// build cannot see (a double free of a block that is no longer on top of the
// thread's cache, one from another thread, realloc / malloc_usable_size of a
// freed block) die with one line naming the pointer, and a free list that a
// write after free redirected at a live block is caught when that block
// would be handed out twice. Also: nothing is reported for correct programs
// (every API, threads, remote frees). Through the malloc override.
#include <malloc.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/hakmem.h"

namespace {

template <typename T>
T* Launder(T* p) {
  asm volatile("" : "+r"(p));
  return p;
}

std::string Hex(const void* p) {
  char buf[32];
  snprintf(buf, sizeof(buf), "0x%" PRIxPTR, reinterpret_cast<uintptr_t>(p));
  return buf;
}

std::string CheckedDouble(const void* p, const char* kind, size_t block) {
  return "hakmem: free\\(\\): double free of " + Hex(p) + " \\(" + kind + " block size " +
         std::to_string(block) + ", checked mode: the block is already free\\)";
}

TEST(CheckedModeTest, IsOn) {
  const char* v = getenv("HAKMEM_CHECK");
  ASSERT_NE(v, nullptr) << "run under bazel test: the BUILD rule sets HAKMEM_CHECK=1";
  EXPECT_STREQ(v, "1");
}

// A double free with other frees in between: the block is no longer on top
// of the thread's cache, so only checked mode sees it.
TEST(CheckedModeDeathTest, LaterDoubleFreeOfTinyBlock) {
  for (size_t size : {size_t{8}, size_t{64}, size_t{1024}}) {
    void* p = malloc(size);
    void* q = malloc(size);
    ASSERT_EQ(hak_owns(p), 1);
    EXPECT_DEATH(
        {
          free(Launder(p));
          free(Launder(q));
          free(Launder(p));
        },
        CheckedDouble(p, "tiny", size))
        << size;
    free(q);
    free(p);
  }
}

TEST(CheckedModeDeathTest, LaterDoubleFreeOfMidBlock) {
  void* p = malloc(5000);  // class 5120
  void* q = malloc(5000);
  EXPECT_DEATH(
      {
        free(Launder(p));
        free(Launder(q));
        free(Launder(p));
      },
      CheckedDouble(p, "mid", 5120));
  free(q);
  free(p);
}

// The block goes back to its slab through thousands of other frees (drains,
// list trims) before the second free.
TEST(CheckedModeDeathTest, DoubleFreeAfterTheBlockWentHome) {
  void* p = malloc(128);
  EXPECT_DEATH(
      {
        free(Launder(p));
        std::vector<void*> churn;
        for (int round = 0; round < 4; round++) {
          for (int i = 0; i < 5000; i++) churn.push_back(malloc(128));
          for (void* b : churn) free(b);
          churn.clear();
        }
        malloc_trim(0);
        free(Launder(p));
      },
      // The slab may have gone back to the pool (EMPTY) or been reused.
      "hakmem: free\\(\\): (double free of " + Hex(p) + " \\(tiny block size 128, checked mode|pointer into a free slab)");
  free(p);
}

// Freed by its owner, freed again by another thread (a remote free).
TEST(CheckedModeDeathTest, DoubleFreeFromAnotherThread) {
  void* p = malloc(256);
  void* q = malloc(256);
  EXPECT_DEATH(
      {
        free(Launder(p));
        free(Launder(q));
        std::thread([p] { free(Launder(p)); }).join();
      },
      CheckedDouble(p, "tiny", 256));
  free(q);
  free(p);
}

TEST(CheckedModeDeathTest, ReallocOfAFreedBlock) {
  void* p = malloc(48);  // class 64
  void* q = malloc(48);
  EXPECT_DEATH(
      {
        free(Launder(p));
        free(Launder(q));
        static_cast<void>(Launder(realloc(Launder(p), 40)));
      },
      "hakmem: realloc\\(\\): pointer " + Hex(p) +
          " to a freed block \\(tiny block size 64, checked mode: use after free or double free\\)");
  free(q);
  free(p);
}

TEST(CheckedModeDeathTest, UsableSizeOfAFreedBlock) {
  void* p = malloc(3000);  // class 3072
  void* q = malloc(3000);
  EXPECT_DEATH(
      {
        free(Launder(p));
        free(Launder(q));
        static_cast<void>(Launder(reinterpret_cast<char*>(malloc_usable_size(Launder(p)))));
      },
      "hakmem: malloc_usable_size\\(\\): pointer " + Hex(p) +
          " to a freed block \\(mid block size 3072, checked mode: use after free or double free\\)");
  free(q);
  free(p);
}

// A write after free points the free list at a block the program holds: the
// allocator would hand that block out twice; checked mode stops it.
TEST(CheckedModeDeathTest, FreeListRedirectedByAWriteAfterFree) {
  void* live = malloc(64);
  void* p = malloc(64);
#ifdef HAKMEM_FREELIST_ENCODING
  // Encoded links (--config=fle): the stored pointer decodes to garbage, so
  // malloc never returns `live`; the next pop faults or aborts instead.
  EXPECT_DEATH(
      {
        free(Launder(p));
        *static_cast<void**>(Launder(p)) = live;
        void* a = malloc(64);
        void* b = malloc(64);
        if (b == live) _exit(0);  // redirected: the death test fails
        fprintf(stderr, "got %p %p\n", a, b);
        abort();
      },
      "");
  free(live);
  return;
#endif
  EXPECT_DEATH(
      {
        free(Launder(p));
        *static_cast<void**>(Launder(p)) = live;  // use after free: p's link now names `live`
        void* a = malloc(64);                     // p itself
        void* b = malloc(64);                     // would be `live` again
        fprintf(stderr, "not reached %p %p\n", a, b);
      },
      "hakmem: malloc\\(\\): corrupted free list: free block " + Hex(p) +
          " \\(block size 64, slab 0x[0-9a-f]+\\) links to " + Hex(live) +
          ", a block the program holds \\(checked mode\\) \\(write after free\\?\\)");
  free(p);
  free(live);
}

// A write after free fills a freed block with garbage: its link no longer
// names a block of its slab. Checked mode reports it when malloc pops the
// block (the release build's fast path would follow the link and fault).
TEST(CheckedModeDeathTest, FreeListOverwrittenWithGarbage) {
  void* p = malloc(64);
  EXPECT_DEATH(
      {
        free(Launder(p));
        memset(Launder(p), 0x41, 64);  // use after free: the link is now 0x4141...
        void* a = malloc(64);          // p itself: its link is checked here
        void* b = malloc(64);
        fprintf(stderr, "not reached %p %p\n", a, b);
      },
#ifdef HAKMEM_FREELIST_ENCODING
      "hakmem: malloc\\(\\): corrupted free list: free block " + Hex(p));
#else
      "hakmem: malloc\\(\\): corrupted free list: free block " + Hex(p) +
          " \\(block size 64, slab 0x[0-9a-f]+\\) links to 0x4141414141414141, outside its slab "
          "\\(write after free\\?\\)");
#endif
  free(p);
}

// Correct programs get no report: every allocation function, sizes of every
// range, blocks freed by other threads, realloc chains.
TEST(CheckedModeTest, CorrectProgramRunsClean) {
  std::vector<void*> held;
  for (size_t n = 0; n <= 40000; n = n < 64 ? n + 1 : n * 5 / 4) {
    void* a = malloc(n);
    void* c = calloc(1, n);
    void* m = memalign(64, n);
    void* al = aligned_alloc(32, (n + 31) / 32 * 32);
    void* pm = nullptr;
    ASSERT_EQ(posix_memalign(&pm, 128, n), 0);
    for (void* x : {a, c, m, al, pm}) {
      ASSERT_NE(x, nullptr) << n;
      EXPECT_GE(malloc_usable_size(x), n);
      held.push_back(x);
    }
    held[held.size() - 5] = realloc(held[held.size() - 5], n * 2 + 1);
  }
  // Half freed here, half by another thread.
  std::vector<void*> theirs(held.begin() + held.size() / 2, held.end());
  held.resize(held.size() / 2);
  std::thread t([&theirs] {
    for (void* x : theirs) free(x);
  });
  for (void* x : held) free(x);
  t.join();
  // Realloc chains across classes, in place and moving.
  void* r = nullptr;
  for (size_t n = 1; n < 300000; n = n * 3 / 2 + 1) {
    r = realloc(r, n);
    ASSERT_NE(r, nullptr);
    memset(r, 0x5a, n);
  }
  for (size_t n = 300000; n > 1; n /= 2) r = realloc(r, n);
  free(r);
  EXPECT_EQ(malloc_trim(0) >= 0, true);
}

}  // namespace
