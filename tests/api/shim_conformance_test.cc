// Conformance of the malloc override (//hakmem:malloc_shim, linked through
// the `malloc` attribute): the malloc family under its C library names, the
// glibc aliases, C++ operator new/delete in every form, and the C library,
// STL and abseil as users. hak_owns() proves each pointer is HAKMEM's; frees
// are proved by the large-object counters of hak_stats_get. Incompatible with
// ASan/TSan (they own malloc).
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "hakmem/hakmem.h"
#include "tests/api/alloc_checks.h"

// The glibc aliases and C23 sized frees the shim exports (no header declares
// them all).
extern "C" {
void* __libc_malloc(size_t);
void __libc_free(void*);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void* __libc_valloc(size_t);
void* __libc_pvalloc(size_t);
int __posix_memalign(void**, size_t, size_t);
void free_sized(void*, size_t);
void free_aligned_sized(void*, size_t, size_t);
}

namespace hakmem_test {
namespace {

const AllocApi kLibc = {
    "libc names",   ::malloc,         ::free,          ::calloc,   ::realloc,
    ::reallocarray, ::posix_memalign, ::aligned_alloc, ::memalign, ::malloc_usable_size,
    ::malloc_trim,
};

// Hides a value from the optimiser: allocation calls with constant
// impossible sizes are neither warned about nor folded, and new/delete pairs
// are not elided.
template <typename T>
T Opaque(T v) {
  asm volatile("" : "+r"(v));
  return v;
}

// For calls expected to throw: their result is never there to use.
void Discard(void* p) { EXPECT_EQ(p, nullptr) << "allocation expected to fail succeeded"; }

hak_stats_t Stats() {
  hak_stats_t st = {};
  st.size = sizeof(st);
  hak_stats_get(&st);
  return st;
}

// Runs alloc() for a 100 KiB block and release(p): the block is HAKMEM's
// (owned, counted as a live large block) and the release really freed it.
template <typename Alloc, typename Release>
void ExpectLargeRoundTrip(const char* what, Alloc alloc, Release release) {
  SCOPED_TRACE(what);
  const uint64_t before = Stats().large_live;
  void* p = alloc();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(hak_owns(p), 1);
  EXPECT_EQ(Stats().large_live, before + 1);
  memset(p, 0x5c, 100 * kKiB);
  release(p);
  EXPECT_EQ(Stats().large_live, before);
  EXPECT_EQ(hak_owns(p), 0);
}

constexpr size_t kLarge = 100 * kKiB;

// ---- the malloc family: the shared conformance checks ----------------------------

TEST(ShimSizes, EverySizeUpTo64KiB) { SweepSizes(kLibc, 65536, 1); }
TEST(ShimSizes, BigSizesUpTo64MiB) { SweepBigSizes(kLibc); }
TEST(ShimRealloc, ContentsKeptAcrossEveryClassBoundary) { ReallocAcrossBoundaries(kLibc); }
TEST(ShimRealloc, ContentsKeptBetweenTinyMidLargeHuge) { ReallocBetweenTiers(kLibc); }
TEST(ShimRealloc, GrowthChainTo6MiBAndBack) { ReallocGrowthChain(kLibc); }
TEST(ShimRealloc, InPlaceWithinTinyAndMidClasses) { ReallocInPlaceWithinClass(kLibc); }
TEST(ShimRealloc, NullIsMallocAndZeroFrees) { ReallocNullAndZero(kLibc); }
TEST(ShimCalloc, ZeroesRecycledBlocksOfEveryTier) { CallocZeroesRecycledBlocks(kLibc); }
TEST(ShimCalloc, OverflowIsNullWithEnomem) { CallocOverflow(kLibc); }
TEST(ShimCalloc, ZeroCountOrSizeGivesUniqueBlocks) { CallocZero(kLibc); }
TEST(ShimReallocarray, OverflowIsEnomemAndKeepsTheBlock) { ReallocarrayOverflowKeepsBlock(kLibc); }
TEST(ShimAligned, EveryPowerOfTwoAlignmentTimesSizes) { AlignedAllocations(kLibc); }
TEST(ShimAligned, InvalidAlignments) { AlignmentErrors(kLibc); }
TEST(ShimMalloc, ZeroSizeGivesDistinctPointers) { MallocZeroIsUnique(kLibc); }
TEST(ShimMalloc, FreeNullIsANoOpAndFreeKeepsErrno) { FreeNullAndErrno(kLibc); }
TEST(ShimMalloc, ImpossibleSizesFailWithEnomem) { ImpossibleSizes(kLibc); }
TEST(ShimTrim, MallocTrimReleasesAFreedWorkingSet) { TrimReturnsMemory(kLibc); }

// ---- the rest of the C API -----------------------------------------------------------

TEST(ShimMalloc, EveryEntryPointIsHakmems) {
  ExpectLargeRoundTrip(
      "malloc/free", [] { return malloc(kLarge); }, [](void* p) { free(p); });
  ExpectLargeRoundTrip(
      "calloc/realloc(p, 0)", [] { return calloc(kLarge / 4, 4); },
      [](void* p) { EXPECT_EQ(realloc(p, 0), nullptr); });
  ExpectLargeRoundTrip(
      "realloc(NULL)/free_sized", [] { return realloc(nullptr, kLarge); },
      [](void* p) { free_sized(p, kLarge); });
  ExpectLargeRoundTrip(
      "reallocarray/free", [] { return reallocarray(nullptr, 100, 1024); },
      [](void* p) { free(p); });
  ExpectLargeRoundTrip(
      "posix_memalign/free_aligned_sized",
      [] {
        void* p = nullptr;
        EXPECT_EQ(posix_memalign(&p, 4096, kLarge), 0);
        return p;
      },
      [](void* p) { free_aligned_sized(p, 4096, kLarge); });
  ExpectLargeRoundTrip(
      "aligned_alloc", [] { return aligned_alloc(64, kLarge); }, [](void* p) { free(p); });
  ExpectLargeRoundTrip(
      "memalign", [] { return memalign(256, kLarge); }, [](void* p) { free(p); });
  ExpectLargeRoundTrip(
      "valloc", [] { return valloc(kLarge); }, [](void* p) { free(p); });
  ExpectLargeRoundTrip(
      "pvalloc", [] { return pvalloc(kLarge - 100); }, [](void* p) { free(p); });
  ExpectLargeRoundTrip(
      "__libc_malloc/__libc_free", [] { return __libc_malloc(kLarge); },
      [](void* p) { __libc_free(p); });
  ExpectLargeRoundTrip(
      "__libc_calloc/__libc_realloc(p, 0)", [] { return __libc_calloc(1, kLarge); },
      [](void* p) { EXPECT_EQ(__libc_realloc(p, 0), nullptr); });
  ExpectLargeRoundTrip(
      "__libc_realloc(NULL)", [] { return __libc_realloc(nullptr, kLarge); },
      [](void* p) { __libc_free(p); });
  ExpectLargeRoundTrip(
      "__libc_memalign", [] { return __libc_memalign(8192, kLarge); },
      [](void* p) { __libc_free(p); });
  ExpectLargeRoundTrip(
      "__libc_valloc", [] { return __libc_valloc(kLarge); }, [](void* p) { __libc_free(p); });
  ExpectLargeRoundTrip(
      "__libc_pvalloc", [] { return __libc_pvalloc(kLarge - 1); }, [](void* p) { __libc_free(p); });
  ExpectLargeRoundTrip(
      "__posix_memalign",
      [] {
        void* p = nullptr;
        EXPECT_EQ(__posix_memalign(&p, 16384, kLarge), 0);
        return p;
      },
      [](void* p) { free(p); });
}

TEST(ShimMalloc, SmallBlocksFromEveryEntryPointAreHakmems) {
  void* blocks[] = {malloc(1),
                    calloc(3, 7),
                    realloc(nullptr, 100),
                    aligned_alloc(32, 32),
                    memalign(64, 10),
                    valloc(10),
                    pvalloc(1),
                    __libc_malloc(24),
                    __libc_calloc(2, 600),
                    __libc_memalign(128, 2000),
                    reallocarray(nullptr, 3, 500)};
  for (void* p : blocks) {
    EXPECT_NE(p, nullptr);
    EXPECT_EQ(hak_owns(p), 1) << p;
  }
  for (void* p : blocks) free(p);
}

TEST(ShimMalloc, VallocAndPvallocArePageAligned) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (size_t size : {size_t{0}, size_t{1}, size_t{100}, page - 1, page, page + 1, 3 * page + 5,
                      kLarge + 1, 2 * kMiB + 1}) {
    SCOPED_TRACE(::testing::Message() << size << " B");
    void* v = valloc(size);
    ASSERT_NO_FATAL_FAILURE(ExpectBlock(kLibc, v, size, page));
    void* pv = pvalloc(size);
    // pvalloc rounds the size up to whole pages (one page for 0).
    const size_t rounded = size == 0 ? page : (size + page - 1) / page * page;
    ASSERT_NO_FATAL_FAILURE(ExpectBlock(kLibc, pv, rounded, page));
    Fill(v, size, 1);
    Fill(pv, rounded, 2);
    EXPECT_TRUE(Intact(v, size, 1));
    EXPECT_TRUE(Intact(pv, rounded, 2));
    free(v);
    free(pv);
  }
  errno = 0;
  EXPECT_EQ(pvalloc(Opaque(SIZE_MAX)), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(valloc(Opaque(SIZE_MAX)), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

// ---- C++ operator new / delete ---------------------------------------------------------

struct alignas(256) Aligned256 {
  char bytes[300];
};
static_assert(alignof(Aligned256) == 256, "over-aligned type");
struct Big {
  char bytes[kLarge];
};
struct alignas(4096) BigAligned {
  char bytes[kLarge];
};

TEST(ShimCxx, NewExpressionsAllocateFromHakmem) {
  int* i = Opaque(new int(7));
  EXPECT_EQ(hak_owns(i), 1);
  EXPECT_TRUE(IsAligned(i, alignof(int)));
  delete i;

  int* a = Opaque(new int[1000]);
  EXPECT_EQ(hak_owns(a), 1);
  delete[] a;

  char* n = Opaque(new (std::nothrow) char[5000]);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(hak_owns(n), 1);
  delete[] n;

  // Over-aligned types go through the align_val_t forms.
  Aligned256* o = Opaque(new Aligned256);
  EXPECT_EQ(hak_owns(o), 1);
  EXPECT_TRUE(IsAligned(o, 256)) << o;
  delete o;
  Aligned256* oa = Opaque(new Aligned256[5]);  // trivially destructible: no array cookie
  EXPECT_EQ(hak_owns(oa), 1);
  for (int k = 0; k < 5; k++) EXPECT_TRUE(IsAligned(&oa[k], 256));
  delete[] oa;
  Aligned256* on = Opaque(new (std::nothrow) Aligned256);
  ASSERT_NE(on, nullptr);
  EXPECT_EQ(hak_owns(on), 1);
  EXPECT_TRUE(IsAligned(on, 256));
  delete on;
}

// Every operator new form paired with every matching delete form, on 100 KiB
// blocks: owned by HAKMEM, and the delete really returns the block.
TEST(ShimCxx, EveryNewAndDeleteFormRoundTrips) {
  using std::align_val_t;
  const std::nothrow_t& nt = std::nothrow;
  ExpectLargeRoundTrip(
      "new / delete", [] { return ::operator new(kLarge); }, [](void* p) { ::operator delete(p); });
  ExpectLargeRoundTrip(
      "new / sized delete", [] { return ::operator new(kLarge); },
      [](void* p) { ::operator delete(p, kLarge); });
  ExpectLargeRoundTrip(
      "new[] / delete[]", [] { return ::operator new[](kLarge); },
      [](void* p) { ::operator delete[](p); });
  ExpectLargeRoundTrip(
      "new[] / sized delete[]", [] { return ::operator new[](kLarge); },
      [](void* p) { ::operator delete[](p, kLarge); });
  ExpectLargeRoundTrip(
      "nothrow new / nothrow delete", [&] { return ::operator new(kLarge, nt); },
      [&](void* p) { ::operator delete(p, nt); });
  ExpectLargeRoundTrip(
      "nothrow new[] / nothrow delete[]", [&] { return ::operator new[](kLarge, nt); },
      [&](void* p) { ::operator delete[](p, nt); });
  for (size_t al : {size_t{16}, size_t{64}, size_t{4096}, size_t{65536}}) {
    SCOPED_TRACE(::testing::Message() << "alignment " << al);
    const align_val_t a{al};
    auto aligned = [&](void* p) {
      EXPECT_TRUE(IsAligned(p, al)) << p;
      return p;
    };
    ExpectLargeRoundTrip(
        "aligned new / aligned delete", [&] { return aligned(::operator new(kLarge, a)); },
        [&](void* p) { ::operator delete(p, a); });
    ExpectLargeRoundTrip(
        "aligned new / sized aligned delete", [&] { return aligned(::operator new(kLarge, a)); },
        [&](void* p) { ::operator delete(p, kLarge, a); });
    ExpectLargeRoundTrip(
        "aligned new[] / aligned delete[]", [&] { return aligned(::operator new[](kLarge, a)); },
        [&](void* p) { ::operator delete[](p, a); });
    ExpectLargeRoundTrip(
        "aligned new[] / sized aligned delete[]",
        [&] { return aligned(::operator new[](kLarge, a)); },
        [&](void* p) { ::operator delete[](p, kLarge, a); });
    ExpectLargeRoundTrip(
        "aligned nothrow new / aligned nothrow delete",
        [&] { return aligned(::operator new(kLarge, a, nt)); },
        [&](void* p) { ::operator delete(p, a, nt); });
    ExpectLargeRoundTrip(
        "aligned nothrow new[] / aligned nothrow delete[]",
        [&] { return aligned(::operator new[](kLarge, a, nt)); },
        [&](void* p) { ::operator delete[](p, a, nt); });
  }
  // The same through new/delete expressions (sized deallocation included).
  ExpectLargeRoundTrip(
      "new Big / delete", [] { return static_cast<void*>(new Big); },
      [](void* p) { delete static_cast<Big*>(p); });
  ExpectLargeRoundTrip(
      "new BigAligned / delete",
      [] {
        BigAligned* b = new BigAligned;
        EXPECT_TRUE(IsAligned(b, 4096));
        return static_cast<void*>(b);
      },
      [](void* p) { delete static_cast<BigAligned*>(p); });
}

TEST(ShimCxx, AlignedNewForEveryAlignment) {
  for (size_t al = 1; al <= 1 * kMiB; al *= 2) {
    for (size_t size : {size_t{1}, size_t{8}, size_t{100}, size_t{4096}, size_t{100000}}) {
      void* p = ::operator new (size, std::align_val_t{al});
      SCOPED_TRACE(::testing::Message() << "operator new(" << size << ", align " << al << ")");
      ASSERT_NO_FATAL_FAILURE(ExpectBlock(kLibc, p, size, al));
      Fill(p, size, static_cast<unsigned>(al + size));
      EXPECT_TRUE(Intact(p, size, static_cast<unsigned>(al + size)));
      ::operator delete (p, size, std::align_val_t{al});
    }
  }
}

TEST(ShimCxx, ImpossibleSizeThrowsBadAllocAndNothrowReturnsNull) {
  const size_t impossible = Opaque(SIZE_MAX / 2);
  EXPECT_THROW(Discard(::operator new(impossible)), std::bad_alloc);
  EXPECT_THROW(Discard(::operator new[](impossible)), std::bad_alloc);
  EXPECT_THROW(Discard(::operator new (impossible, std::align_val_t{64})), std::bad_alloc);
  EXPECT_THROW(Discard(::operator new[](impossible, std::align_val_t{4096})), std::bad_alloc);
  EXPECT_THROW(Discard(::operator new(Opaque(SIZE_MAX))), std::bad_alloc);
  EXPECT_EQ(::operator new(impossible, std::nothrow), nullptr);
  EXPECT_EQ(::operator new[](impossible, std::nothrow), nullptr);
  EXPECT_EQ(::operator new (impossible, std::align_val_t{64}, std::nothrow), nullptr);
  EXPECT_EQ(::operator new[](impossible, std::align_val_t{64}, std::nothrow), nullptr);
  EXPECT_THROW(static_cast<void>(Opaque(new char[impossible])), std::bad_alloc);
  EXPECT_EQ(Opaque(new (std::nothrow) char[impossible]), nullptr);
}

int g_handler_calls;
void CountingHandler() {
  if (++g_handler_calls == 3) std::set_new_handler(nullptr);
}
struct HandlerGaveUp : std::bad_alloc {};
void ThrowingHandler() {
  g_handler_calls++;
  throw HandlerGaveUp();
}

TEST(ShimCxx, NewHandlerIsRetriedThenBadAlloc) {
  const size_t impossible = Opaque(SIZE_MAX / 2);
  g_handler_calls = 0;
  std::set_new_handler(CountingHandler);
  EXPECT_THROW(Discard(::operator new(impossible)), std::bad_alloc);
  EXPECT_EQ(g_handler_calls, 3);

  g_handler_calls = 0;
  std::set_new_handler(CountingHandler);
  EXPECT_EQ(::operator new (impossible, std::align_val_t{128}, std::nothrow), nullptr);
  EXPECT_EQ(g_handler_calls, 3);

  // An exception from the handler unwinds through the shim (built with
  // -fexceptions) to the caller.
  g_handler_calls = 0;
  std::set_new_handler(ThrowingHandler);
  EXPECT_THROW(Discard(::operator new[](impossible)), HandlerGaveUp);
  EXPECT_EQ(g_handler_calls, 1);
  std::set_new_handler(nullptr);
}

// ---- the C library, the STL and abseil as users ------------------------------------------

TEST(ShimUsers, CLibraryAllocatesFromHakmem) {
  char* d = strdup("hakmem");
  EXPECT_EQ(hak_owns(d), 1);
  free(d);
  char* nd = strndup("hakmem allocator", 6);
  EXPECT_EQ(hak_owns(nd), 1);
  free(nd);
  char* s = nullptr;
  ASSERT_GT(asprintf(&s, "%0*d", 50000, 7), 0);
  EXPECT_EQ(hak_owns(s), 1);
  free(s);
  // getline grows its buffer with realloc.
  std::string text(200000, 'x');
  text += "\nshort\n";
  FILE* f = fmemopen(&text[0], text.size(), "r");
  ASSERT_NE(f, nullptr);
  char* line = nullptr;
  size_t cap = 0;
  ASSERT_EQ(getline(&line, &cap, f), 200001);
  EXPECT_EQ(hak_owns(line), 1);
  EXPECT_GE(malloc_usable_size(line), cap);
  free(line);
  fclose(f);
}

TEST(ShimUsers, StdStringVectorListMap) {
  std::string s(1000, 's');
  EXPECT_EQ(hak_owns(s.data()), 1);
  std::string big(3 * kMiB, 'b');
  EXPECT_EQ(hak_owns(big.data()), 1);

  std::vector<int> v;
  const int* last = nullptr;
  for (int i = 0; i < 200000; i++) {
    v.push_back(i);
    if (v.data() != last) {  // every reallocation of the vector's storage
      last = v.data();
      ASSERT_EQ(hak_owns(last), 1) << "capacity " << v.capacity();
    }
  }

  std::map<int, std::string> m;
  for (int i = 0; i < 1000; i++) m.emplace(i, std::string(100 + i, 'm'));
  for (const auto& kv : m) ASSERT_EQ(hak_owns(kv.second.data()), 1);
#if defined(__GLIBCXX__)
  // libstdc++'s node pointers are the allocation addresses.
  for (auto it = m.begin(); it != m.end(); ++it) ASSERT_EQ(hak_owns(it._M_node), 1);
  std::list<int> l(100, 1);
  for (auto it = l.begin(); it != l.end(); ++it) ASSERT_EQ(hak_owns(it._M_node), 1);
#endif
  // Many small nodes: the tiny classes' slabs grow by the nodes' footprint.
  const uint64_t slabs_before = Stats().slabs_active;
  std::map<int, int> nodes;
  for (int i = 0; i < 100000; i++) nodes.emplace(i, i);
  EXPECT_GE(Stats().slabs_active, slabs_before + 50);  // 100000 x 64 B = 98 slabs
}

TEST(ShimUsers, AbslFlatHashMapAndStrings) {
  const hak_stats_t before = Stats();
  {
    absl::flat_hash_map<int64_t, int64_t> m;
    m.reserve(20000);  // one backing array of ~500 KiB: a large block
    const hak_stats_t reserved = Stats();
    EXPECT_EQ(reserved.large_live, before.large_live + 1);
    EXPECT_GE(reserved.large_live_bytes, before.large_live_bytes + 20000 * 16);
    for (int64_t i = 0; i < 20000; i++) m[i] = i * i;
    EXPECT_EQ(m.size(), 20000u);
    EXPECT_EQ(m[12345], int64_t{12345} * 12345);
  }
  EXPECT_EQ(Stats().large_live, before.large_live);

  absl::flat_hash_map<std::string, std::string> strings;
  for (int i = 0; i < 500; i++) {
    strings[absl::StrCat("key-", i, std::string(40, 'k'))] = std::string(100, 'v');
  }
  for (const auto& kv : strings) {
    ASSERT_EQ(hak_owns(kv.first.data()), 1);
    ASSERT_EQ(hak_owns(kv.second.data()), 1);
  }

  std::string cat = absl::StrCat(std::string(100, 'a'), 12345, std::string(200, 'b'));
  EXPECT_EQ(hak_owns(cat.data()), 1);
  std::string formatted = absl::StrFormat("%0500d", 7);
  EXPECT_EQ(hak_owns(formatted.data()), 1);
  std::vector<std::string> pieces;
  for (int i = 0; i < 100; i++) pieces.push_back(std::string(30, static_cast<char>('a' + i % 26)));
  std::string joined = absl::StrJoin(pieces, ",");
  EXPECT_EQ(hak_owns(joined.data()), 1);
  std::vector<std::string> split = absl::StrSplit(joined, ',');
  ASSERT_EQ(split.size(), 100u);
  EXPECT_EQ(hak_owns(split.data()), 1);
  for (const std::string& piece : split) EXPECT_EQ(hak_owns(piece.data()), 1);
}

}  // namespace
}  // namespace hakmem_test
