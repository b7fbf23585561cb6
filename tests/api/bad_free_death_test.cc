// Bad input through the malloc override: each case must die (abort) after one
// "hakmem: ..." line on stderr that names the pointer (as 0x + lowercase hex,
// HAKMEM's %p) and the problem (SPEC §3). Death tests fork; the default
// ("fast") style runs the statement in the forked child, which also works
// under QEMU user mode.
#include <malloc.h>
#include <sys/mman.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/hakmem.h"

namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

// Hides where a pointer came from, so the compiler neither warns about
// freeing a non-heap object nor reasons about the call.
template <typename T>
T* Launder(T* p) {
  asm volatile("" : "+r"(p));
  return p;
}

void* Offset(void* p, size_t off) { return Launder(static_cast<char*>(p) + off); }

// The pointer as HAKMEM prints it (%p: 0x and lowercase hex, no padding).
std::string Hex(const void* p) {
  char buf[32];
  snprintf(buf, sizeof(buf), "0x%" PRIxPTR, reinterpret_cast<uintptr_t>(p));
  return buf;
}

// The pointer at the end of the message: no further hex digit may follow.
std::string HexAtEnd(const void* p) { return Hex(p) + "([^0-9a-f]|$)"; }

// free(): invalid pointer (not allocated by HAKMEM) 0x...
std::string Foreign(const char* fn, const void* p) {
  return std::string("hakmem: ") + fn + "\\(\\): invalid pointer \\(not allocated by HAKMEM\\) " +
         HexAtEnd(p);
}

std::string Misaligned(const void* p, size_t block_size) {
  return "hakmem: free\\(\\): misaligned pointer into a block " + Hex(p) + " \\(block size " +
         std::to_string(block_size) + "[^0-9]";
}

std::string LargeInterior(const void* p) {
  return "hakmem: free\\(\\): invalid pointer \\(not the start of an allocation\\) " + Hex(p) +
         " \\(large allocation\\)";
}

std::string LargeDouble(const void* p) {
  return "hakmem: free\\(\\): double free of " + Hex(p) + " \\(large allocation\\)";
}

// A pointer into memory HAKMEM has unmapped (and nothing mapped since).
std::string Unmapped(const char* fn, const void* p, const char* what) {
  return std::string("hakmem: ") + fn + "\\(\\): pointer " + Hex(p) + " into a " + what +
         " HAKMEM has already unmapped \\(double free or use after free\\)";
}

// ---- foreign pointers ------------------------------------------------------------

TEST(BadFreeDeathTest, StackPointer) {
  alignas(64) char stack[256];
  stack[0] = 1;
  void* p = Launder(stack + 64);
  EXPECT_DEATH(free(p), Foreign("free", p));
  void* q = Launder(static_cast<void*>(stack));
  EXPECT_DEATH(free(q), Foreign("free", q));
}

TEST(BadFreeDeathTest, MmapPointer) {
  void* m = mmap(nullptr, 2 * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  EXPECT_DEATH(free(m), Foreign("free", m));
  void* inner = Offset(m, 4096 + 16);
  EXPECT_DEATH(free(inner), Foreign("free", inner));
  munmap(m, 2 * kMiB);
}

TEST(BadFreeDeathTest, OperatorDeleteOfForeignPointer) {
  static char global_block[64];
  void* p = Launder(static_cast<void*>(global_block));
  EXPECT_DEATH(::operator delete(p), Foreign("free", p));
}

TEST(BadFreeDeathTest, ReallocOfForeignPointer) {
  alignas(16) char stack[128];
  stack[0] = 1;
  void* p = Launder(stack + 16);
  // The message names the function the program called.
  std::string re =
      "hakmem: realloc\\(\\): invalid pointer \\(not allocated by HAKMEM\\) " + HexAtEnd(p);
  EXPECT_DEATH(static_cast<void>(Launder(realloc(p, 100))), re);
}

TEST(BadFreeDeathTest, MallocUsableSizeOfForeignPointer) {
  alignas(16) char stack[128];
  stack[0] = 1;
  void* p = Launder(stack + 32);
  EXPECT_DEATH(static_cast<void>(Launder(reinterpret_cast<char*>(malloc_usable_size(p)))),
               Foreign("malloc_usable_size", p));
}

TEST(BadFreeDeathTest, PointerIntoASuperSlabHeader) {
  void* block = malloc(64);
  ASSERT_EQ(hak_owns(block), 1);
  void* header = Launder(reinterpret_cast<void*>(
      (reinterpret_cast<uintptr_t>(block) & ~(uintptr_t{2 * kMiB} - 1)) + 64));
  EXPECT_DEATH(free(header),
               "hakmem: free\\(\\): invalid pointer \\(inside a HAKMEM SuperSlab "
               "header\\) " +
                   HexAtEnd(header));
  free(block);
}

// ---- interior pointers --------------------------------------------------------------

TEST(BadFreeDeathTest, InteriorPointerOfTinyBlock) {
  void* p = malloc(64);
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  void* inner = Offset(p, 8);
  EXPECT_DEATH(free(inner), Misaligned(inner, 64));
  void* p16 = malloc(16);
  void* inner16 = Offset(p16, 8);
  EXPECT_DEATH(free(inner16), Misaligned(inner16, 16));
  free(p16);
  free(p);
}

// A block-aligned pointer into the owner's own slab, past every block handed
// out so far: the owner's fast path must not take it (it would be handed out
// twice later).
TEST(BadFreeDeathTest, NeverAllocatedBlockOfOwnSlab) {
  void* p = malloc(64);
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  void* slab_end = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(p) | 0xffff) - 63);
  ASSERT_EQ(hak_owns(slab_end), 0) << "the last block of the slab is not handed out yet";
  EXPECT_DEATH(free(Launder(slab_end)),
               "hakmem: free\\(\\): pointer to a block never allocated " + HexAtEnd(slab_end));
  free(p);
}

TEST(BadFreeDeathTest, InteriorPointerOfMidBlock) {
  void* p = malloc(3000);  // class 3072
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  void* inner = Offset(p, 16);
  EXPECT_DEATH(free(inner), Misaligned(inner, 3072));
  void* page = Offset(p, 2048);
  EXPECT_DEATH(free(page), Misaligned(page, 3072));
  free(p);
}

TEST(BadFreeDeathTest, InteriorPointerOfLargeBlock) {
  void* p = malloc(100 * kKiB);
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  void* page = Offset(p, 4096);
  EXPECT_DEATH(free(page), LargeInterior(page));
  void* inner = Offset(p, 16);
  EXPECT_DEATH(free(inner), LargeInterior(inner));
  free(p);
}

TEST(BadFreeDeathTest, InteriorPointerOfHugeBlock) {
  void* p = malloc(4 * kMiB);
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  void* page = Offset(p, 4096);
  EXPECT_DEATH(free(page),
               "hakmem: free\\(\\): invalid pointer \\(not the start of an "
               "allocation\\) " +
                   Hex(page) + " \\(large allocation\\)");
  free(p);
}

// ---- double frees ----------------------------------------------------------------------

TEST(BadFreeDeathTest, ImmediateDoubleFreeOfTinyBlock) {
  for (size_t size : {size_t{8}, size_t{64}, size_t{1024}}) {
    void* p = malloc(size);
    ASSERT_EQ(hak_owns(Launder(p)), 1);
    EXPECT_DEATH(
        {
          free(Launder(p));
          free(Launder(p));
        },
        "hakmem: free\\(\\): double free of " + Hex(p) + " \\(tiny block size " +
            std::to_string(size) + "[^0-9]")
        << size << " B";
    free(p);  // the parent never freed it
  }
}

TEST(BadFreeDeathTest, ImmediateDoubleFreeOfMidBlock) {
  void* p = malloc(5000);  // class 5120
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  EXPECT_DEATH(
      {
        free(Launder(p));
        free(Launder(p));
      },
      "hakmem: free\\(\\): double free of " + Hex(p) + " \\(mid block size 5120[^0-9]");
  free(p);
}

TEST(BadFreeDeathTest, DoubleFreeOfLargeBlock) {
  // The freed block needs a live neighbour in its large region, so the
  // segment stays in use after the first free and the second one is seen as
  // a double free. Consecutive blocks share a segment unless the first ends
  // one: take the first such pair.
  std::vector<void*> blocks;
  void *keep = nullptr, *p = nullptr;
  for (int i = 0; i < 64 && p == nullptr; i++) {
    blocks.push_back(malloc(100 * kKiB));
    ASSERT_EQ(hak_owns(blocks.back()), 1);
    if (blocks.size() >= 2) {
      void* a = blocks[blocks.size() - 2];
      void* b = blocks.back();
      if (reinterpret_cast<uintptr_t>(a) / (2 * kMiB) ==
          reinterpret_cast<uintptr_t>(b) / (2 * kMiB)) {
        keep = a;
        p = b;
      }
    }
  }
  ASSERT_NE(p, nullptr) << "no two 100 KiB blocks in one large region";
  for (void* b : blocks) {
    if (b != keep && b != p) free(b);
  }
  EXPECT_DEATH(
      {
        free(Launder(p));
        free(Launder(p));
      },
      LargeDouble(p));
  free(p);
  free(keep);
}

TEST(BadFreeDeathTest, DoubleFreeOfCarvedHugeBlock) {
  // 1..32 MiB blocks are carved from large regions that outlive them: a
  // second free is a double free while the block before it is live. Take the
  // first two blocks that are consecutive spans of one region.
  std::vector<void*> blocks;
  void *keep = nullptr, *p = nullptr;
  for (int i = 0; i < 64 && p == nullptr; i++) {
    blocks.push_back(malloc(3 * kMiB / 2));
    ASSERT_EQ(hak_owns(blocks.back()), 1);
    if (blocks.size() >= 2 && static_cast<char*>(blocks[blocks.size() - 2]) + 3 * kMiB / 2 == blocks.back()) {
      keep = blocks[blocks.size() - 2];
      p = blocks.back();
    }
  }
  ASSERT_NE(p, nullptr) << "no two consecutive 1.5 MiB blocks";
  for (void* b : blocks) {
    if (b != keep && b != p) free(b);
  }
  EXPECT_DEATH(
      {
        free(Launder(p));
        free(Launder(p));
      },
      LargeDouble(p));
  free(p);
  free(keep);
}

TEST(BadFreeDeathTest, DoubleFreeOfHugeBlock) {
  void* p = malloc(40 * kMiB);  // above 32 MiB: its own mapping, gone after the first free
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  EXPECT_DEATH(
      {
        free(Launder(p));
        free(Launder(p));
      },
      Unmapped("free", p, "huge allocation"));
  free(p);
}

// ---- pointers into memory HAKMEM has given back ------------------------------------

// Blocks of one 2 MiB SuperSlab, all freed, the SuperSlab unmapped by
// malloc_trim: a later free of one of them names the released SuperSlab.
// Returns a block whose page is unmapped now (mincore fails with ENOMEM).
void* BlockOfAReleasedSuperSlab() {
  std::vector<void*> blocks;
  for (int i = 0; i < 200; i++) blocks.push_back(malloc(30 * kKiB));  // ~3 SuperSlabs
  for (void* b : blocks) free(b);
  malloc_trim(0);
  for (void* b : blocks) {
    unsigned char vec;
    void* page = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(b) & ~uintptr_t{4095});
    if (mincore(page, 4096, &vec) != 0 && errno == ENOMEM) return b;
  }
  return nullptr;
}

TEST(BadFreeDeathTest, PointerIntoAReleasedSuperSlab) {
  EXPECT_DEATH(
      {
        void* b = BlockOfAReleasedSuperSlab();
        if (b == nullptr) {
          fprintf(stderr, "no SuperSlab was released\n");
          abort();
        }
        fprintf(stderr, "block %p\n", b);
        free(Launder(b));
      },
      "block (0x[0-9a-f]+)\n.*hakmem: free\\(\\): pointer 0x[0-9a-f]+ into a SuperSlab HAKMEM has "
      "already unmapped \\(double free or use after free\\)");
}

// A slab of a live SuperSlab that went back to the pool (all its blocks
// freed, slab not yet reused).
TEST(BadFreeDeathTest, PointerIntoAFreeSlab) {
  EXPECT_DEATH(
      {
        std::vector<void*> blocks;
        for (int i = 0; i < 8; i++) blocks.push_back(malloc(30 * kKiB));
        void* first = blocks[0];
        for (void* b : blocks) free(b);
        malloc_trim(0);  // flush the thread's caches: the slabs go EMPTY
        free(Launder(first));
      },
      "hakmem: free\\(\\): (pointer into a free slab \\(double free or invalid pointer\\)|pointer "
      "0x[0-9a-f]+ into a SuperSlab HAKMEM has already unmapped)");
}

// ---- realloc of a freed pointer --------------------------------------------------------

std::string ReallocFreed(const void* p) {
  return "hakmem: realloc\\(\\): pointer " + Hex(p) + " to a freed block \\(use after free\\)";
}

TEST(BadFreeDeathTest, ReallocOfFreedTinyBlock) {
  for (size_t grow : {size_t{64}, size_t{200}, size_t{4000}}) {
    void* p = malloc(64);
    ASSERT_EQ(hak_owns(Launder(p)), 1);
    EXPECT_DEATH(
        {
          free(Launder(p));
          static_cast<void>(Launder(realloc(Launder(p), grow)));
        },
        ReallocFreed(p))
        << grow;
    free(p);
  }
}

TEST(BadFreeDeathTest, ReallocOfFreedMidBlock) {
  void* p = malloc(5000);
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  EXPECT_DEATH(
      {
        free(Launder(p));
        static_cast<void>(Launder(realloc(Launder(p), 9000)));
      },
      ReallocFreed(p));
  free(p);
}

TEST(BadFreeDeathTest, ReallocOfFreedHugeBlock) {
  void* p = malloc(40 * kMiB);  // its own mapping
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  EXPECT_DEATH(
      {
        free(Launder(p));
        static_cast<void>(Launder(realloc(Launder(p), 50 * kMiB)));
      },
      Unmapped("realloc", p, "huge allocation"));
  free(p);
}

TEST(BadFreeDeathTest, ReallocOfFreedLargeBlock) {
  void* keep = malloc(100 * kKiB);  // keeps the large region in use
  void* p = malloc(100 * kKiB);
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  EXPECT_DEATH(
      {
        free(Launder(p));
        static_cast<void>(Launder(realloc(Launder(p), 200 * kKiB)));
      },
      "hakmem: realloc\\(\\): (invalid pointer or freed block " + Hex(p) +
          " \\(large allocation\\)|pointer " + Hex(p) + " into a large-allocation segment)");
  free(p);
  free(keep);
}

// Freed twice by a thread that does not own it: the owner's remote-free
// queue would loop; the drain reports it instead of hanging.
TEST(BadFreeDeathTest, DoubleFreeByAnotherThread) {
  EXPECT_DEATH(
      {
        void* p = malloc(64);
        std::thread([p] {
          free(Launder(p));
          free(Launder(p));
        }).join();
        // The owner drains the queue when it refills from that slab.
        std::vector<void*> more;
        for (int i = 0; i < 20000; i++) more.push_back(malloc(64));
        fprintf(stderr, "not detected\n");
      },
      "hakmem: free\\(\\): double free of 0x[0-9a-f]+ by another thread");
}

TEST(BadFreeDeathTest, DoubleDeleteOfTinyObject) {
  int* p = new int(1);
  ASSERT_EQ(hak_owns(Launder(p)), 1);
  EXPECT_DEATH(
      {
        delete Launder(p);
        delete Launder(p);
      },
      "hakmem: free\\(\\): double free of " + Hex(p) + " \\(tiny block size");
  delete p;
}

}  // namespace
