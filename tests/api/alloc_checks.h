// tests/api/alloc_checks.h — conformance checks shared by the hak_* API test
// and the malloc-override (shim) test. Every check runs against an AllocApi
// (the hak_* functions, or the C library names that the shim replaces) and
// also asks hak_owns() about every pointer, so the shim test proves that each
// block really came from HAKMEM.
//
// Contents are checked against a reference byte stream (xorshift, mapped with
// mmap so it belongs to no allocator) at a per-block offset: a block filled
// from one offset cannot pass for another block, and a copy with a shifted
// source or destination is caught.
#ifndef HAKMEM_TESTS_API_ALLOC_CHECKS_H
#define HAKMEM_TESTS_API_ALLOC_CHECKS_H

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/hakmem.h"

namespace hakmem_test {

// The malloc family under test.
struct AllocApi {
  const char* name;
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void* (*reallocarray)(void*, size_t, size_t);
  int (*posix_memalign)(void**, size_t, size_t);
  void* (*aligned_alloc)(size_t, size_t);
  void* (*memalign)(size_t, size_t);
  size_t (*usable_size)(void*);
  int (*trim)(size_t);
};

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;

// Block sizes of the small classes (SPEC §3): tiny C0..C7, mid C8..C25.
inline const std::vector<size_t>& ClassSizes() {
  static const std::vector<size_t> sizes = {
      8,    16,   32,   64,   128,  256,  512,  1024, 1280,  1536,  1792,  2048,  2560,
      3072, 3584, 4096, 5120, 6144, 7168, 8192, 9344, 10880, 13056, 16384, 21760, 32768};
  return sizes;
}
constexpr size_t kTinyMax = 1024;
constexpr size_t kMidMax = 32768;

inline size_t Pow2Floor(size_t x) { return size_t{1} << (63 - __builtin_clzll(x)); }

// The contract's alignment: min(16, largest power of two <= size).
inline size_t MinAlign(size_t size) {
  return size == 0 ? 1 : std::min<size_t>(16, Pow2Floor(size));
}

inline bool IsAligned(const void* p, size_t a) {
  return (reinterpret_cast<uintptr_t>(p) & (a - 1)) == 0;
}

inline uint8_t* Bytes(void* p) { return static_cast<uint8_t*>(p); }

// ---- reference byte stream --------------------------------------------------

// ThreadSanitizer shadows every byte that is copied, set or compared, which
// makes whole-block patterns of a 2 GB sweep cost minutes: under TSan only
// blocks up to 4 KiB are patterned densely and the calloc rounds are fewer.
#if defined(__SANITIZE_THREAD__)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif

constexpr size_t kRefBytes = 17 * kMiB;
constexpr size_t kRefSlack = 4096;  // seeds select an offset below this
// Larger blocks are patterned sparsely.
constexpr size_t kDenseMax = kTsan ? 4096 : kRefBytes - kRefSlack;

inline const uint8_t* RefBase() {
  static const uint8_t* const base = [] {
    void* m = mmap(nullptr, kRefBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) abort();
    uint64_t x = 0x9E3779B97F4A7C15ull;
    uint64_t* w = static_cast<uint64_t*>(m);
    for (size_t i = 0; i < kRefBytes / 8; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      w[i] = x;
    }
    return static_cast<const uint8_t*>(m);
  }();
  return base;
}

inline const uint8_t* Ref(unsigned seed) { return RefBase() + (seed * 2654435761u) % kRefSlack; }

// Blocks above kDenseMax get their first and last byte and one byte per page
// written and checked.
constexpr size_t kSparseStride = 4096;
inline uint8_t SparseByte(size_t off, unsigned seed) { return Ref(seed)[off % 4093]; }

// Fills [p, p+n) with the stream for `seed` (densely or sparsely by n).
inline void Fill(void* p, size_t n, unsigned seed) {
  if (n == 0) return;
  uint8_t* b = Bytes(p);
  if (n <= kDenseMax) {
    memcpy(b, Ref(seed), n);
    return;
  }
  for (size_t off = 0; off < n; off += kSparseStride) b[off] = SparseByte(off, seed);
  b[n - 1] = SparseByte(n - 1, seed);
}

// The first `prefix` bytes of a block that Fill(p, filled, seed) wrote (at a
// possibly different address: realloc moves blocks) are still there.
inline ::testing::AssertionResult Intact(const void* p, size_t filled, unsigned seed,
                                         size_t prefix) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  prefix = std::min(prefix, filled);
  if (prefix == 0) return ::testing::AssertionSuccess();
  if (filled <= kDenseMax) {
    const uint8_t* r = Ref(seed);
    if (memcmp(b, r, prefix) == 0) return ::testing::AssertionSuccess();
    size_t i = 0;
    while (b[i] == r[i]) i++;
    return ::testing::AssertionFailure()
           << "block " << p << ": byte " << i << " of " << prefix << " is " << unsigned{b[i]}
           << ", expected " << unsigned{r[i]};
  }
  for (size_t off = 0; off < prefix; off += kSparseStride) {
    if (b[off] != SparseByte(off, seed)) {
      return ::testing::AssertionFailure() << "block " << p << ": byte " << off << " changed";
    }
  }
  if (prefix == filled && b[filled - 1] != SparseByte(filled - 1, seed)) {
    return ::testing::AssertionFailure() << "block " << p << ": last byte changed";
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult Intact(const void* p, size_t filled, unsigned seed) {
  return Intact(p, filled, seed, filled);
}

// [p, p+n) holds only `value`.
inline ::testing::AssertionResult AllBytes(const void* p, size_t n, uint8_t value) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  if (n == 0 || (b[0] == value && memcmp(b, b + 1, n - 1) == 0)) {
    return ::testing::AssertionSuccess();
  }
  size_t i = 0;
  while (b[i] == value) i++;
  return ::testing::AssertionFailure()
         << "block " << p << " of " << n << " bytes: byte " << i << " is " << unsigned{b[i]}
         << ", expected " << unsigned{value};
}

// ---- per-block contract -----------------------------------------------------

// p is a live block for a request of `size` bytes with alignment `align`:
// non-NULL, aligned, usable >= size, owned by HAKMEM, and an interior address
// is not taken for a block.
inline void ExpectBlock(const AllocApi& api, void* p, size_t size, size_t align = 1) {
  ASSERT_NE(p, nullptr) << api.name << ": request of " << size << " B (alignment " << align
                        << ") failed";
  EXPECT_TRUE(IsAligned(p, std::max(align, MinAlign(size))))
      << api.name << ": " << p << " for " << size << " B is not aligned to "
      << std::max(align, MinAlign(size));
  EXPECT_GE(api.usable_size(p), size) << api.name << ": " << p;
  EXPECT_EQ(hak_owns(p), 1) << api.name << ": " << p << " (" << size << " B) is not a HAKMEM block";
  EXPECT_EQ(hak_owns(Bytes(p) + 1), 0) << api.name << ": interior pointer of " << p;
}

// ---- size sweeps --------------------------------------------------------------

// malloc of every size in [0, max] (stride `step`): the block contract, the
// whole usable area written, and a ring of live blocks verified before their
// free, so two live blocks can never overlap unnoticed.
inline void SweepSizes(const AllocApi& api, size_t max, size_t step) {
  constexpr size_t kRing = 37;
  struct Live {
    void* p;
    size_t usable;
    unsigned seed;
  } ring[kRing] = {};
  auto retire = [&](Live& l) {
    EXPECT_EQ(api.usable_size(l.p), l.usable) << "usable size of " << l.p << " changed";
    EXPECT_TRUE(Intact(l.p, l.usable, l.seed));
    api.free(l.p);
    l.p = nullptr;
  };
  size_t i = 0;
  for (size_t size = 0; size <= max && !::testing::Test::HasFailure(); size += step, i++) {
    Live& slot = ring[i % kRing];
    if (slot.p != nullptr) retire(slot);
    void* p = api.malloc(size);
    ExpectBlock(api, p, size);
    if (p == nullptr) break;
    slot = {p, api.usable_size(p), static_cast<unsigned>(i)};
    Fill(p, slot.usable, slot.seed);
  }
  for (Live& l : ring) {
    if (l.p != nullptr) retire(l);
  }
}

// Sizes for the sweep above 64 KiB: powers of two and +-1, three-halves of
// them, and odd sizes, up to 64 MiB (+1).
inline std::vector<size_t> BigSizes() {
  std::vector<size_t> v;
  for (unsigned k = 15; k <= 26; k++) {
    size_t p2 = size_t{1} << k;
    v.insert(v.end(), {p2 - 1, p2, p2 + 1, p2 + p2 / 2 + 7});
  }
  v.insert(v.end(), {40009, 99991, 1000003, 1048575 + 4096, 2097151 + 12345, 12345679, 33554467,
                     64 * kMiB + 1});
  std::sort(v.begin(), v.end());
  return v;
}

inline void SweepBigSizes(const AllocApi& api) {
  // Three blocks live at a time, each verified before it is freed.
  constexpr size_t kLive = 3;
  struct Live {
    void* p = nullptr;
    size_t size = 0;
    unsigned seed = 0;
  } live[kLive];
  unsigned i = 0;
  for (size_t size : BigSizes()) {
    Live& slot = live[i % kLive];
    if (slot.p != nullptr) {
      EXPECT_TRUE(Intact(slot.p, slot.size, slot.seed)) << slot.size << " B";
      api.free(slot.p);
    }
    void* p = api.malloc(size);
    ExpectBlock(api, p, size);
    if (p == nullptr) return;
    slot = {p, size, 1000u + i};
    Fill(p, size, slot.seed);
    i++;
  }
  for (Live& l : live) {
    if (l.p == nullptr) continue;
    EXPECT_TRUE(Intact(l.p, l.size, l.seed)) << l.size << " B";
    api.free(l.p);
  }
}

// ---- realloc -------------------------------------------------------------------

// malloc(from), fill, realloc(to): contents kept; then refill and realloc back.
inline void ReallocRoundTrip(const AllocApi& api, size_t from, size_t to, unsigned seed) {
  SCOPED_TRACE(::testing::Message()
               << api.name << " realloc " << from << " -> " << to << " -> " << from);
  void* p = api.malloc(from);
  ASSERT_NE(p, nullptr);
  Fill(p, from, seed);
  void* q = api.realloc(p, to);
  ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, q, to));
  EXPECT_TRUE(Intact(q, from, seed, to));
  Fill(q, to, seed + 1);
  void* r = api.realloc(q, from);
  ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, r, from));
  EXPECT_TRUE(Intact(r, to, seed + 1, from));
  api.free(r);
}

// Sizes around every class boundary: each class size and +-1, then large and
// huge (> 1 MiB: own mapping) sizes.
inline std::vector<size_t> BoundarySizes() {
  std::vector<size_t> v = {1, 2, 7};
  for (size_t c : ClassSizes()) v.insert(v.end(), {c - 1, c, c + 1});
  for (size_t b : {64 * kKiB, 256 * kKiB, 1 * kMiB, 2 * kMiB, 8 * kMiB}) {
    v.insert(v.end(), {b - 1, b, b + 1});
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

inline void ReallocAcrossBoundaries(const AllocApi& api) {
  const std::vector<size_t> s = BoundarySizes();
  for (size_t i = 0; i + 1 < s.size() && !::testing::Test::HasFailure(); i++) {
    // To the next size (within or across a boundary) and two boundaries up.
    ReallocRoundTrip(api, s[i], s[i + 1], static_cast<unsigned>(i));
    if (i + 3 < s.size()) ReallocRoundTrip(api, s[i], s[i + 3], static_cast<unsigned>(i) + 7);
  }
}

// Every tier to every other tier: tiny, mid, large, huge.
inline void ReallocBetweenTiers(const AllocApi& api) {
  const size_t sizes[] = {1,     100,    1024,     1025,         5000,         32768,
                          32769, 200000, 1 * kMiB, 1 * kMiB + 1, 2 * kMiB + 1, 16 * kMiB};
  unsigned seed = 0;
  for (size_t a : sizes) {
    for (size_t b : sizes) {
      if (a != b) ReallocRoundTrip(api, a, b, seed++);
    }
  }
}

// One block grown by 1.5x from 1 B to 6 MiB and shrunk back, contents checked
// at every step.
inline void ReallocGrowthChain(const AllocApi& api) {
  std::vector<size_t> steps;
  for (size_t n = 1; n <= 6 * kMiB; n = n + n / 2 + 1) steps.push_back(n);
  void* p = api.malloc(steps[0]);
  ASSERT_NE(p, nullptr);
  Fill(p, steps[0], 11);
  auto walk = [&](size_t from, size_t to) {
    void* q = api.realloc(p, to);
    ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, q, to));
    ASSERT_TRUE(Intact(q, from, 11, to)) << from << " -> " << to;
    Fill(q, to, 11);  // same stream: the kept prefix is unchanged
    p = q;
  };
  for (size_t i = 1; i < steps.size() && !::testing::Test::HasFatalFailure(); i++) {
    walk(steps[i - 1], steps[i]);
  }
  for (size_t i = steps.size() - 1; i > 0 && !::testing::Test::HasFatalFailure(); i--) {
    walk(steps[i], steps[i - 1]);
  }
  api.free(p);
}

// realloc to a size that maps to the block's own small class keeps the block.
inline void ReallocInPlaceWithinClass(const AllocApi& api) {
  const std::vector<size_t>& cls = ClassSizes();
  for (size_t i = 0; i < cls.size(); i++) {
    size_t lo = i == 0 ? 1 : cls[i - 1] + 1, hi = cls[i];
    SCOPED_TRACE(::testing::Message()
                 << api.name << " class " << hi << " (sizes " << lo << ".." << hi << ")");
    void* p = api.malloc(lo);
    ASSERT_NE(p, nullptr);
    Fill(p, lo, 40 + static_cast<unsigned>(i));
    size_t filled = lo;
    for (size_t n : {hi, lo + (hi - lo) / 2, lo, hi - 1, hi}) {
      void* q = api.realloc(p, n);
      EXPECT_EQ(q, p) << "realloc to " << n << " moved the block";
      ASSERT_NE(q, nullptr);
      EXPECT_TRUE(Intact(q, filled, 40 + static_cast<unsigned>(i), n));
      p = q;
      Fill(p, n, 40 + static_cast<unsigned>(i));
      filled = n;
    }
    api.free(p);
  }
}

// ---- calloc ----------------------------------------------------------------------

// Blocks dirtied with 0xAA and freed come back zeroed from calloc, for every
// tier (recycled tiny/mid blocks, cached large spans, fresh huge mappings).
inline void CallocZeroesRecycledBlocks(const AllocApi& api) {
  const size_t sizes[] = {1,      8,      24,       64,           100,     1000,  1024,
                          1025,   2000,   4096,     10000,        32768,   32769, 50000,
                          100000, 500000, 1 * kMiB, 1 * kMiB + 1, 3 * kMiB};
  const int rounds = kTsan ? 2 : 4;
  const size_t max_blocks = kTsan ? 16 : 64, max_bytes = kTsan ? 2 * kMiB : 8 * kMiB;
  for (size_t size : sizes) {
    SCOPED_TRACE(::testing::Message() << api.name << " calloc of " << size << " B");
    const size_t n = std::max<size_t>(2, std::min<size_t>(max_blocks, max_bytes / size));
    std::vector<void*> blocks(n);
    for (int round = 0; round < rounds; round++) {
      for (void*& b : blocks) {
        b = api.malloc(size);
        ASSERT_NE(b, nullptr);
        memset(b, 0xAA, api.usable_size(b));
      }
      for (void* b : blocks) api.free(b);
      for (size_t k = 0; k < n; k++) {
        // Alternate the factorisations of the same total.
        void* b = k % 3 == 0                    ? api.calloc(1, size)
                  : k % 3 == 1 || size % 4 != 0 ? api.calloc(size, 1)
                                                : api.calloc(size / 4, 4);
        ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, b, size));
        ASSERT_TRUE(AllBytes(b, size, 0)) << "round " << round << ", block " << k;
        blocks[k] = b;
      }
      for (void* b : blocks) {
        memset(b, 0xAA, api.usable_size(b));
        api.free(b);
      }
    }
  }
}

inline void CallocOverflow(const AllocApi& api) {
  struct Case {
    size_t n, size;
  } const cases[] = {
      {SIZE_MAX / 2 + 1, 3}, {3, SIZE_MAX / 2 + 1},
      {SIZE_MAX, 2},         {(size_t{1} << 32) + 1, size_t{1} << 32},
      {SIZE_MAX, SIZE_MAX},
  };
  for (const Case& c : cases) {
    errno = 0;
    void* p = api.calloc(c.n, c.size);
    EXPECT_EQ(p, nullptr) << api.name << " calloc(" << c.n << ", " << c.size << ")";
    EXPECT_EQ(errno, ENOMEM) << api.name << " calloc(" << c.n << ", " << c.size << ")";
    if (p != nullptr) api.free(p);
  }
  // No overflow, but no memory either.
  errno = 0;
  EXPECT_EQ(api.calloc(1, SIZE_MAX), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

// calloc with a zero count or size: unique freeable blocks like malloc(0).
inline void CallocZero(const AllocApi& api) {
  void* a = api.calloc(0, 0);
  void* b = api.calloc(0, 16);
  void* c = api.calloc(16, 0);
  ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, a, 0));
  ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, b, 0));
  ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, c, 0));
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
  api.free(a);
  api.free(b);
  api.free(c);
}

inline void ReallocarrayOverflowKeepsBlock(const AllocApi& api) {
  for (size_t size : {size_t{100}, size_t{5000}, size_t{100000}, 2 * kMiB}) {
    SCOPED_TRACE(::testing::Message() << api.name << " reallocarray of a " << size << " B block");
    void* p = api.malloc(size);
    ASSERT_NE(p, nullptr);
    Fill(p, size, 77);
    errno = 0;
    EXPECT_EQ(api.reallocarray(p, SIZE_MAX / 2 + 1, 3), nullptr);
    EXPECT_EQ(errno, ENOMEM);
    errno = 0;
    EXPECT_EQ(api.reallocarray(p, 3, SIZE_MAX / 2 + 1), nullptr);
    EXPECT_EQ(errno, ENOMEM);
    // The original block is untouched and still usable.
    EXPECT_EQ(hak_owns(p), 1);
    EXPECT_GE(api.usable_size(p), size);
    EXPECT_TRUE(Intact(p, size, 77));
    void* q = api.reallocarray(p, 2, size);
    ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, q, 2 * size));
    EXPECT_TRUE(Intact(q, size, 77));
    api.free(q);
  }
  void* p = api.reallocarray(nullptr, 4, 25);
  ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, p, 100));
  api.free(p);
}

// ---- aligned allocation --------------------------------------------------------------

inline const std::vector<size_t>& AlignedSizes() {
  static const std::vector<size_t> sizes = {
      0, 1, 7, 8, 15, 16, 100, 1000, 1024, 1025, 4096, 5000, 32768, 32769, 100000, 2 * kMiB + 1};
  return sizes;
}

inline void CheckAlignedBlock(const AllocApi& api, const char* fn, void* p, size_t align,
                              size_t size, unsigned seed) {
  SCOPED_TRACE(::testing::Message()
               << api.name << " " << fn << "(" << align << ", " << size << ")");
  ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, p, size, align));
  size_t usable = api.usable_size(p);
  Fill(p, usable, seed);
  EXPECT_TRUE(Intact(p, usable, seed));
  api.free(p);
}

// Every power-of-two alignment from 1 B to 1 MiB times AlignedSizes(), through
// aligned_alloc, memalign and (alignment >= sizeof(void*)) posix_memalign.
inline void AlignedAllocations(const AllocApi& api) {
  unsigned seed = 0;
  for (size_t align = 1; align <= 1 * kMiB; align *= 2) {
    for (size_t size : AlignedSizes()) {
      errno = 0;
      CheckAlignedBlock(api, "aligned_alloc", api.aligned_alloc(align, size), align, size, seed++);
      CheckAlignedBlock(api, "memalign", api.memalign(align, size), align, size, seed++);
      if (align >= sizeof(void*)) {
        void* p = nullptr;
        const int saved = errno = 4321;
        EXPECT_EQ(api.posix_memalign(&p, align, size), 0)
            << api.name << " posix_memalign(" << align << ", " << size << ")";
        EXPECT_EQ(errno, saved) << "posix_memalign changed errno";
        CheckAlignedBlock(api, "posix_memalign", p, align, size, seed++);
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
}

inline void AlignmentErrors(const AllocApi& api) {
  void* const kSentinel = reinterpret_cast<void*>(uintptr_t{0x5a5a5a5a5a});
  // posix_memalign: not a power of two, or not a multiple of sizeof(void*).
  for (size_t bad : {size_t{0}, size_t{3}, size_t{24}, sizeof(void*) / 2, sizeof(void*) + 1,
                     size_t{3 * 4096}, SIZE_MAX}) {
    void* out = kSentinel;
    errno = 4321;
    EXPECT_EQ(api.posix_memalign(&out, bad, 16), EINVAL)
        << api.name << " posix_memalign alignment " << bad;
    EXPECT_EQ(out, kSentinel) << "posix_memalign wrote *out on EINVAL";
    EXPECT_EQ(errno, 4321) << "posix_memalign changed errno";
  }
  // A valid but impossible alignment: ENOMEM, *out untouched.
  {
    void* out = kSentinel;
    EXPECT_EQ(api.posix_memalign(&out, size_t{1} << 62, 16), ENOMEM);
    EXPECT_EQ(out, kSentinel);
  }
  // aligned_alloc: not a power of two -> NULL + EINVAL.
  for (size_t bad : {size_t{3}, size_t{24}, size_t{100}, size_t{3 * 4096}}) {
    errno = 0;
    EXPECT_EQ(api.aligned_alloc(bad, 16), nullptr) << "aligned_alloc alignment " << bad;
    EXPECT_EQ(errno, EINVAL) << "aligned_alloc alignment " << bad;
  }
  // memalign rounds a non-power-of-two alignment up (glibc); 0 means none.
  struct Case {
    size_t align, size, expect;
  } const rounded[] = {{24, 100, 32}, {3, 10, 4},     {1000, 100, 1024},  {4097, 5000, 8192},
                       {0, 100, 16},  {48, 3000, 64}, {65537, 10, 131072}};
  for (const Case& c : rounded) {
    void* p = api.memalign(c.align, c.size);
    SCOPED_TRACE(::testing::Message()
                 << api.name << " memalign(" << c.align << ", " << c.size << ")");
    ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, p, c.size, c.expect));
    api.free(p);
  }
  errno = 0;
  EXPECT_EQ(api.memalign(SIZE_MAX, 16), nullptr);
  EXPECT_EQ(errno, EINVAL);
}

// ---- malloc edge cases -------------------------------------------------------------

inline void MallocZeroIsUnique(const AllocApi& api) {
  std::vector<void*> v;
  for (int i = 0; i < 1000; i++) {
    void* p = api.malloc(0);
    ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, p, 0));
    v.push_back(p);
  }
  std::vector<void*> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end())
      << api.name << ": malloc(0) returned the same pointer twice";
  for (void* p : v) api.free(p);
}

inline void FreeNullAndErrno(const AllocApi& api) {
  errno = 4321;
  api.free(nullptr);
  EXPECT_EQ(errno, 4321) << "free(NULL) changed errno";
  for (size_t size : {size_t{16}, size_t{3000}, size_t{100000}, 4 * kMiB}) {
    void* p = api.malloc(size);
    ASSERT_NE(p, nullptr);
    errno = 4321;
    api.free(p);
    EXPECT_EQ(errno, 4321) << "free of a " << size << " B block changed errno";
  }
}

inline void ImpossibleSizes(const AllocApi& api) {
  for (size_t size : {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4095, SIZE_MAX - 2 * kMiB,
                      SIZE_MAX / 2 + 1, SIZE_MAX / 2}) {
    errno = 0;
    void* p = api.malloc(size);
    EXPECT_EQ(p, nullptr) << api.name << " malloc(" << size << ")";
    EXPECT_EQ(errno, ENOMEM) << api.name << " malloc(" << size << ")";
    if (p != nullptr) api.free(p);
  }
  // A failed realloc leaves the block alone.
  void* p = api.malloc(100);
  ASSERT_NE(p, nullptr);
  Fill(p, 100, 5);
  for (size_t size : {SIZE_MAX, SIZE_MAX / 2}) {
    errno = 0;
    EXPECT_EQ(api.realloc(p, size), nullptr) << "realloc to " << size;
    EXPECT_EQ(errno, ENOMEM);
    EXPECT_EQ(hak_owns(p), 1);
    EXPECT_TRUE(Intact(p, 100, 5));
  }
  api.free(p);
}

inline void ReallocNullAndZero(const AllocApi& api) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{5000}, size_t{100000}, 2 * kMiB}) {
    void* p = api.realloc(nullptr, size);
    ASSERT_NO_FATAL_FAILURE(ExpectBlock(api, p, size)) << "realloc(NULL, " << size << ")";
    Fill(p, size, 3);
    api.free(p);
  }
  for (size_t size : {size_t{1}, size_t{100}, size_t{5000}, size_t{100000}, 2 * kMiB}) {
    void* p = api.malloc(size);
    ASSERT_NE(p, nullptr);
    hak_stats_t before = {};
    before.size = sizeof(before);
    hak_stats_get(&before);
    EXPECT_EQ(api.realloc(p, 0), nullptr) << "realloc(p, 0) of a " << size << " B block";
    if (size > kMidMax) {
      // Large blocks: the free is visible in the stats and to hak_owns.
      hak_stats_t after = {};
      after.size = sizeof(after);
      hak_stats_get(&after);
      EXPECT_EQ(after.large_live + 1, before.large_live) << size << " B";
      EXPECT_EQ(hak_owns(p), 0) << size << " B";
    }
  }
}

// hak_trim (or malloc_trim) after a 64 MiB working set of tiny, mid and large
// blocks was freed: it reports a release, the OS numbers show it, and the
// mapped bytes fall back to near where they were before the working set.
inline void TrimReturnsMemory(const AllocApi& api) {
  std::vector<void*> blocks;
  // The list itself may come from the allocator under test (shim): it is
  // allocated before the baseline and lives through the whole check.
  blocks.reserve(16 * kMiB / 64 + 16 * kMiB / 4096 + 32 * kMiB / (100 * kKiB));
  hak_stats_t base = {};
  base.size = sizeof(base);
  api.trim(0);
  hak_stats_get(&base);

  for (size_t i = 0; i < 16 * kMiB / 64; i++) blocks.push_back(api.malloc(64));
  for (size_t i = 0; i < 16 * kMiB / 4096; i++) blocks.push_back(api.malloc(4000));
  for (size_t i = 0; i < 32 * kMiB / (100 * kKiB); i++) {
    blocks.push_back(api.malloc(100 * kKiB));
  }
  for (void* b : blocks) {
    ASSERT_NE(b, nullptr);
    size_t n = api.usable_size(b);
    for (size_t off = 0; off < n; off += 4096) Bytes(b)[off] = 1;  // make every page resident
    Bytes(b)[n - 1] = 1;
  }
  hak_stats_t peak = {};
  peak.size = sizeof(peak);
  hak_stats_get(&peak);
  EXPECT_GE(peak.os_mapped_bytes, base.os_mapped_bytes + 48 * kMiB);
  for (void* b : blocks) api.free(b);

  hak_stats_t before = {};
  before.size = sizeof(before);
  hak_stats_get(&before);
  EXPECT_EQ(api.trim(0), 1) << api.name << ": trim after freeing 64 MiB released nothing";
  hak_stats_t after = {};
  after.size = sizeof(after);
  hak_stats_get(&after);
  EXPECT_TRUE(after.os_purged_bytes > before.os_purged_bytes ||
              after.os_mapped_bytes < before.os_mapped_bytes)
      << "purged " << before.os_purged_bytes << " -> " << after.os_purged_bytes << ", mapped "
      << before.os_mapped_bytes << " -> " << after.os_mapped_bytes;
  EXPECT_EQ(after.large_cached_bytes, 0u);
  EXPECT_EQ(after.superslabs_cached, 0u);
  EXPECT_EQ(after.large_live, base.large_live);
  // What stays mapped: the slabs the thread keeps as current for the two
  // small classes used (a SuperSlab each at worst) and registry pages.
  EXPECT_LE(after.os_mapped_bytes, base.os_mapped_bytes + 8 * kMiB)
      << "base " << base.os_mapped_bytes << ", peak " << peak.os_mapped_bytes;
  // Nothing left to give back.
  EXPECT_EQ(api.trim(0), 0);
}

}  // namespace hakmem_test

#endif  // HAKMEM_TESTS_API_ALLOC_CHECKS_H
