// tests/fault/fault_injection_test.cc — fault injection (issue 6 item 3).
//
// The OS layer's test-only hook (hakmem/core/os.h, hk_os_fault_*) makes
// mmap, madvise and munmap fail at chosen points: every map, the Nth and
// following, only SuperSlab-size maps, only huge maps, the maps of thread
// records, at random. Every public call must then return NULL with errno
// ENOMEM (posix_memalign: ENOMEM, errno untouched) or succeed from HAKMEM's
// caches; nothing may crash or touch a live block (every block carries a
// pattern, checked after each phase), the consistency walk (hk_seg_check)
// must pass, and once the rule is cleared everything works again. Failed
// purges must only keep memory (calloc still zeroes it) until a later purge
// succeeds.
//
// Built twice (BUILD.bazel): through the hak_* API (HAK_FAULT_MALLOC=0, runs
// under every sanitizer) and through the malloc override (HAK_FAULT_MALLOC=1:
// malloc, operator new and everything else in the process is HAKMEM; skipped
// where ASan/TSan own malloc). With the override, code that runs while a rule
// is set only records outcomes in memory reserved beforehand; the assertions
// come after the rule is cleared.
#include <errno.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "hakmem/core/os.h"
#include "hakmem/hakmem.h"
#include "tests/stress/stress_support.h"

#ifndef HAK_FAULT_MALLOC
#error "compile with -DHAK_FAULT_MALLOC=0 (hak_* API) or =1 (malloc override)"
#endif

#if HAK_FAULT_MALLOC
#define T_MALLOC malloc
#define T_FREE free
#define T_CALLOC calloc
#define T_REALLOC realloc
#define T_POSIX_MEMALIGN posix_memalign
#define T_ALIGNED_ALLOC aligned_alloc
#define T_MEMALIGN memalign
#define T_TRIM malloc_trim
#else
#define T_MALLOC hak_malloc
#define T_FREE hak_free
#define T_CALLOC hak_calloc
#define T_REALLOC hak_realloc
#define T_POSIX_MEMALIGN hak_posix_memalign
#define T_ALIGNED_ALLOC hak_aligned_alloc
#define T_MEMALIGN hak_memalign
#define T_TRIM hak_trim
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAULT_SANITIZER 1
#else
#define FAULT_SANITIZER 0
#endif

namespace {

constexpr size_t kKiB = 1024, kMiB = 1024 * kKiB;
constexpr size_t kSsSize = 2 * kMiB;         // SuperSlabs: 2 MiB maps
constexpr size_t kThreadBatch = 64 * kKiB;   // thread records: 64 KiB maps (alloc.c)
constexpr size_t kHuge = 40 * kMiB;          // > 32 MiB: a mapping of its own
constexpr size_t kLarge = 256 * kKiB;        // a page span of a large region (4 MiB and up)

// One size of each range and the range boundaries: tiny (<= 1 KiB), mid
// (<= 32 KiB), large spans (<= 1 MiB), huge (own mapping).
constexpr size_t kSizes[] = {16,         48,           1024,      1025,     5000, 32768,
                             32769,      200 * kKiB,   kMiB,      kMiB + 1, kHuge};

// Workload divisor where each operation is slow (QEMU, sanitizers).
unsigned Slowdown() {
#if defined(__aarch64__)
  return FAULT_SANITIZER ? 16u : 4u;
#elif defined(__SANITIZE_THREAD__)
  return 4u;
#else
  return 1u;
#endif
}

hak_stats_t Stats() {
  hak_stats_t st;
  memset(&st, 0, sizeof(st));
  st.size = sizeof(st);
  hak_stats_get(&st);
  return st;
}

// Keeps the compiler from eliding an allocation whose result looks unused.
inline void Escape(void *p) { __asm__ volatile("" : : "g"(p) : "memory"); }

// ---- rules -------------------------------------------------------------------

hk_os_fault_t Rule(uint64_t after = 0, uint64_t count = 0, int error = 0) {
  hk_os_fault_t r;
  memset(&r, 0, sizeof(r));
  r.after = after;
  r.count = count;
  r.error = error;
  return r;
}

hk_os_fault_t SizedRule(size_t min_size, size_t max_size) {
  hk_os_fault_t r = Rule();
  r.min_size = min_size;
  r.max_size = max_size;
  return r;
}

hk_os_fault_t RandomRule(uint32_t ppm, uint64_t seed, int error = 0) {
  hk_os_fault_t r = Rule(0, 0, error);
  r.ppm = ppm;
  r.seed = seed;
  return r;
}

// A rule for the scope; every rule is cleared at its end.
class Fault {
 public:
  Fault(hk_os_fault_op_t op, const hk_os_fault_t &r) { hk_os_fault_set(op, &r); }
  ~Fault() { hk_os_fault_clear_all(); }
  Fault(const Fault &) = delete;
  Fault &operator=(const Fault &) = delete;
};

// ---- block contents ------------------------------------------------------------
// Self-describing pattern: word 0 = size, word 1 = key, word i = Mix(key + i),
// tail bytes from Mix(key). Sizes >= 16.

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

uint8_t TailByte(uint64_t key, size_t j) { return static_cast<uint8_t>(Mix(key) >> (8 * (j % 8))) ^ static_cast<uint8_t>(j); }

__attribute__((noinline)) void Stamp(void *p, size_t n, uint64_t key) {
  auto *w = static_cast<uint64_t *>(p);
  w[0] = n;
  w[1] = key;
  size_t words = n / 8;
  for (size_t i = 2; i < words; i++) w[i] = Mix(key + i);
  auto *b = static_cast<uint8_t *>(p);
  for (size_t j = words * 8; j < n; j++) b[j] = TailByte(key, j);
}

// Checks the first `limit` bytes of a block stamped with size n and key.
__attribute__((noinline)) bool PrefixIntact(const void *p, size_t n, uint64_t key, size_t limit) {
  auto *w = static_cast<const uint64_t *>(p);
  auto *b = static_cast<const uint8_t *>(p);
  size_t words = limit / 8;
  if (words >= 1 && w[0] != n) return false;
  if (words >= 2 && w[1] != key) return false;
  for (size_t i = 2; i < words; i++) {
    if (w[i] != Mix(key + i)) return false;
  }
  for (size_t j = words * 8; j < limit; j++) {
    uint8_t want;
    if (j < n / 8 * 8) {
      uint64_t word = j < 8 ? n : j < 16 ? key : Mix(key + j / 8);
      want = static_cast<uint8_t>(word >> (8 * (j % 8)));
    } else {
      want = TailByte(key, j);
    }
    if (b[j] != want) return false;
  }
  return true;
}

bool Intact(const void *p, size_t n, uint64_t key) { return PrefixIntact(p, n, key, n); }

// Reads size and key from the block itself (blocks handed between threads).
bool SelfIntact(const void *p, size_t *n_out) {
  auto *w = static_cast<const uint64_t *>(p);
  size_t n = static_cast<size_t>(w[0]);
  if (n < 16 || n > 64 * kMiB) return false;
  *n_out = n;
  return Intact(p, n, w[1]);
}

bool AllZero(const void *p, size_t n) {
  auto *b = static_cast<const uint8_t *>(p);
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) return false;
  }
  return true;
}

// Blocks with their patterns. Reserve the capacity up front: Add() never
// allocates (it may run while the override's malloc fails).
struct Blk {
  void *p;
  size_t n;
  uint64_t key;
};

class Held {
 public:
  explicit Held(size_t cap) { v_.reserve(cap); }
  bool Full() const { return v_.size() == v_.capacity(); }
  size_t size() const { return v_.size(); }
  Blk &operator[](size_t i) { return v_[i]; }
  void Add(void *p, size_t n) {
    uint64_t key = Mix(reinterpret_cast<uintptr_t>(p) ^ (n << 1) ^ ++serial_);
    Stamp(p, n, key);
    v_.push_back({p, n, key});
  }
  size_t Corrupt() const {
    size_t bad = 0;
    for (const Blk &b : v_) bad += !Intact(b.p, b.n, b.key);
    return bad;
  }
  void FreeAll() {
    for (const Blk &b : v_) T_FREE(b.p);
    v_.clear();
  }
  // Frees every k-th block starting at `first`; returns the bytes freed.
  size_t FreeEvery(size_t k, size_t first) {
    size_t bytes = 0;
    std::vector<Blk> keep;
    keep.reserve(v_.capacity());
    for (size_t i = 0; i < v_.size(); i++) {
      if (i % k == first) {
        T_FREE(v_[i].p);
        bytes += v_[i].n;
      } else {
        keep.push_back(v_[i]);
      }
    }
    v_.swap(keep);
    return bytes;
  }

 private:
  std::vector<Blk> v_;
  uint64_t serial_ = 0;
};

// ---- outcomes of calls made while a rule is set (no allocation) --------------

struct Outcomes {
  uint64_t ok = 0;     // valid blocks
  uint64_t nomem = 0;  // NULL with ENOMEM
  uint64_t bad = 0;    // anything else
  char first_bad[200] = "";

  void Bad(const char *call, size_t n, const char *what, long v) {
    if (bad++ == 0) snprintf(first_bad, sizeof(first_bad), "%s(%zu): %s (%ld)", call, n, what, v);
  }
};

enum Call { kMalloc, kCalloc, kPosixMemalign, kAlignedAlloc, kMemalign, kCalls };
const char *const kCallName[kCalls] = {"malloc", "calloc", "posix_memalign", "aligned_alloc", "memalign"};

size_t AlignFor(size_t n) { return n <= 32768 ? 64 : 4096; }

// One allocation of n bytes through `c`; *err = errno afterwards (for
// posix_memalign its result, or -1 if it changed errno).
__attribute__((noinline)) void *Allocate(Call c, size_t n, int *err) {
  const size_t align = AlignFor(n);
  void *p = nullptr;
  errno = 0;
  switch (c) {
    case kMalloc: p = T_MALLOC(n); break;
    case kCalloc: p = T_CALLOC(1, n); break;
    case kPosixMemalign: {
      errno = 4321;
      int rc = T_POSIX_MEMALIGN(&p, align, n);
      *err = errno != 4321 ? -1 : rc;
      if (rc != 0) p = nullptr;
      Escape(p);
      return p;
    }
    case kAlignedAlloc: p = T_ALIGNED_ALLOC(align, (n + align - 1) / align * align); break;
    case kMemalign: p = T_MEMALIGN(align, n); break;
    default: break;
  }
  *err = errno;
  Escape(p);
  return p;
}

// Checks the outcome of Allocate(c, n): NULL with ENOMEM, or a HAKMEM block
// of at least n bytes with the alignment asked (calloc: zeroed).
void Judge(Outcomes &o, Call c, size_t n, void *p, int err) {
  const char *name = kCallName[c];
  if (p == nullptr) {
    if (err == ENOMEM) o.nomem++;
    else o.Bad(name, n, c == kPosixMemalign ? "failed with result (-1: errno changed)" : "NULL with errno", err);
    return;
  }
  if (c != kMalloc && c != kCalloc && reinterpret_cast<uintptr_t>(p) % AlignFor(n) != 0) {
    o.Bad(name, n, "misaligned block", static_cast<long>(reinterpret_cast<uintptr_t>(p) % AlignFor(n)));
  } else if (!hak_owns(p) || hak_usable_size(p) < n) {
    o.Bad(name, n, "not a live HAKMEM block of that size", static_cast<long>(hak_usable_size(p)));
  } else if (c == kCalloc && !AllZero(p, n)) {
    o.Bad(name, n, "calloc block not zeroed", 0);
  } else {
    o.ok++;
  }
}

// After a rule is cleared: every call kind and every range works, contents
// survive, realloc moves data across the ranges, and the walk is clean.
void ExpectEverythingWorks(const char *when) {
  SCOPED_TRACE(when);
  Held h(kCalls * (sizeof(kSizes) / sizeof(kSizes[0])));
  for (size_t n : kSizes) {
    for (int c = 0; c < kCalls; c++) {
      int err = 0;
      void *p = Allocate(static_cast<Call>(c), n, &err);
      Outcomes o;
      Judge(o, static_cast<Call>(c), n, p, err);
      ASSERT_NE(p, nullptr) << kCallName[c] << "(" << n << ") failed, errno " << err;
      ASSERT_EQ(o.ok, 1u) << o.first_bad;
      h.Add(p, n);
    }
  }
  // realloc through every range keeps the contents.
  void *p = T_MALLOC(16);
  ASSERT_NE(p, nullptr);
  Stamp(p, 16, 77);
  size_t n = 16;
  for (size_t next : kSizes) {
    if (next <= n) continue;
    void *q = T_REALLOC(p, next);
    ASSERT_NE(q, nullptr) << "realloc to " << next;
    ASSERT_TRUE(PrefixIntact(q, n, 77, n)) << "realloc " << n << " -> " << next << " lost data";
    Stamp(q, next, 77);
    p = q;
    n = next;
  }
  T_FREE(p);
  EXPECT_EQ(h.Corrupt(), 0u);
  h.FreeAll();
  EXPECT_EQ(hkt_stress_seg_check(), 0);
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hk_os_fault_clear_all();
    ASSERT_EQ(hkt_stress_seg_check(), 0);
  }
  void TearDown() override {
    hk_os_fault_clear_all();
    EXPECT_EQ(hkt_stress_seg_check(), 0);
  }
};

// ---- the hook itself -------------------------------------------------------------

TEST(FaultHook, NthAndFollowingCallsFailUntilCleared) {
  const size_t ps = hk_os_page_size();
  hk_os_stats_t s0, s1;
  int rc[6];
  void *p[6];
  void *other = nullptr;
  int other_rc;
  hk_os_stats_get(&s0);
  {
    // Only 7-page calls match: the allocator's own maps are left alone.
    hk_os_fault_t r = SizedRule(7 * ps, 7 * ps);
    r.after = 2;
    Fault f(HK_OS_FAULT_MAP, r);
    for (int i = 0; i < 6; i++) rc[i] = hk_os_reserve_aligned(7 * ps, ps, true, &p[i]);
    other_rc = hk_os_reserve_aligned(8 * ps, ps, true, &other);
    hk_os_stats_get(&s1);
    EXPECT_EQ(hk_os_fault_matched(HK_OS_FAULT_MAP), 6u);
    EXPECT_EQ(hk_os_fault_injected(HK_OS_FAULT_MAP), 4u);
  }
  // Counters stay readable after the clear; calls succeed again.
  EXPECT_EQ(hk_os_fault_injected(HK_OS_FAULT_MAP), 4u);
  for (int i = 0; i < 6; i++) {
    if (i < 2) {
      EXPECT_EQ(rc[i], 0) << "call " << i;
      EXPECT_NE(p[i], nullptr);
    } else {
      EXPECT_EQ(rc[i], ENOMEM) << "call " << i;
      EXPECT_EQ(p[i], nullptr) << "a failed reserve leaves *out NULL";
    }
  }
  EXPECT_EQ(other_rc, 0) << "a call the size filter excludes must not fail";
  // Injected failures make no system call and change no counter.
  EXPECT_EQ(s1.mmap_calls - s0.mmap_calls, 3u);
  EXPECT_EQ(s1.mapped_bytes - s0.mapped_bytes, 2 * 7 * ps + 8 * ps);
  void *again = nullptr;
  EXPECT_EQ(hk_os_reserve_aligned(7 * ps, ps, true, &again), 0);
  for (int i = 0; i < 2; i++) EXPECT_EQ(hk_os_release(p[i], 7 * ps), 0);
  EXPECT_EQ(hk_os_release(other, 8 * ps), 0);
  EXPECT_EQ(hk_os_release(again, 7 * ps), 0);
}

TEST(FaultHook, WindowOfCallsAndChosenError) {
  const size_t ps = hk_os_page_size();
  void *region = nullptr;
  ASSERT_EQ(hk_os_reserve_aligned(4 * ps, ps, true, &region), 0);
  int rc[6];
  {
    // Purges: the second and third fail with EAGAIN, the rest succeed.
    Fault f(HK_OS_FAULT_PURGE, Rule(/*after=*/1, /*count=*/2, EAGAIN));
    for (int i = 0; i < 6; i++) rc[i] = hk_os_purge(region, 4 * ps);
    EXPECT_EQ(hk_os_fault_matched(HK_OS_FAULT_PURGE), 6u);
    EXPECT_EQ(hk_os_fault_injected(HK_OS_FAULT_PURGE), 2u);
  }
  const int want[6] = {0, EAGAIN, EAGAIN, 0, 0, 0};
  for (int i = 0; i < 6; i++) EXPECT_EQ(rc[i], want[i]) << "purge " << i;
  EXPECT_EQ(hk_os_release(region, 4 * ps), 0);
}

TEST(FaultHook, EveryOperationFailsWithoutSideEffects) {
  const size_t ps = hk_os_page_size();
  const size_t size = 8 * ps;
  void *region = nullptr;
  ASSERT_EQ(hk_os_reserve_aligned(size, ps, true, &region), 0);
  auto *c = static_cast<unsigned char *>(region);
  memset(c, 0xab, size);
  hk_os_stats_t s0, s1;
  int rcs[4];
  hk_os_stats_get(&s0);
  {
    Fault f(HK_OS_FAULT_COMMIT, Rule(0, 0, EPERM));
    for (int op : {HK_OS_FAULT_DECOMMIT, HK_OS_FAULT_PURGE, HK_OS_FAULT_RELEASE}) {
      hk_os_fault_t r = Rule(0, 0, EPERM);
      hk_os_fault_set(static_cast<hk_os_fault_op_t>(op), &r);
    }
    rcs[0] = hk_os_commit(region, size);
    rcs[1] = hk_os_decommit(region, size);
    rcs[2] = hk_os_purge(region, size);
    rcs[3] = hk_os_release(region, size);
    hk_os_stats_get(&s1);
    for (int op : {HK_OS_FAULT_COMMIT, HK_OS_FAULT_DECOMMIT, HK_OS_FAULT_PURGE, HK_OS_FAULT_RELEASE}) {
      EXPECT_EQ(hk_os_fault_injected(static_cast<hk_os_fault_op_t>(op)), 1u) << "op " << op;
    }
  }
  for (int i = 0; i < 4; i++) EXPECT_EQ(rcs[i], EPERM) << "call " << i;
  EXPECT_EQ(s1.mmap_calls, s0.mmap_calls);
  EXPECT_EQ(s1.munmap_calls, s0.munmap_calls);
  EXPECT_EQ(s1.madvise_calls, s0.madvise_calls);
  EXPECT_EQ(s1.mapped_bytes, s0.mapped_bytes);
  EXPECT_EQ(s1.purged_bytes, s0.purged_bytes);
  // Nothing was decommitted, purged or unmapped: the data is still there.
  for (size_t i = 0; i < size; i += 512) ASSERT_EQ(c[i], 0xab) << "byte " << i;
  EXPECT_EQ(hk_os_release(region, size), 0);
}

TEST(FaultHook, InvalidArgumentsAreCheckedFirst) {
  const size_t ps = hk_os_page_size();
  void *p = reinterpret_cast<void *>(1);
  int rc;
  {
    Fault f(HK_OS_FAULT_MAP, Rule());
    rc = hk_os_reserve_aligned(ps + 1, ps, true, &p);
    EXPECT_EQ(hk_os_fault_matched(HK_OS_FAULT_MAP), 0u);
  }
  EXPECT_EQ(rc, EINVAL);
  EXPECT_EQ(p, nullptr);
}

TEST(FaultHook, RandomFailuresRepeatWithTheSeed) {
  const size_t ps = hk_os_page_size();
  void *region = nullptr;
  ASSERT_EQ(hk_os_reserve_aligned(ps, ps, true, &region), 0);
  auto run = [&](uint64_t seed, bool *out, uint64_t *injected) {
    Fault f(HK_OS_FAULT_PURGE, RandomRule(300000, seed, EAGAIN));
    for (int i = 0; i < 200; i++) out[i] = hk_os_purge(region, ps) != 0;
    *injected = hk_os_fault_injected(HK_OS_FAULT_PURGE);
  };
  bool a[200], b[200], c[200];
  uint64_t ia, ib, ic;
  run(1, a, &ia);
  run(1, b, &ib);
  run(2, c, &ic);
  EXPECT_EQ(memcmp(a, b, sizeof(a)), 0) << "the same seed must give the same failures";
  EXPECT_NE(memcmp(a, c, sizeof(a)), 0) << "another seed, other failures";
  EXPECT_EQ(ia, ib);
  uint64_t counted = 0;
  for (bool x : a) counted += x;
  EXPECT_EQ(counted, ia);
  EXPECT_GT(ia, 30u) << "30% of 200 calls";
  EXPECT_LT(ia, 90u) << "30% of 200 calls";
  EXPECT_EQ(hk_os_release(region, ps), 0);
}

// ---- the allocator while every map fails -----------------------------------------

// What the first allocation of a process does when mmap fails from the
// start: run by main() before anything else touches HAKMEM (hak_* flavour;
// with the override HAKMEM has served the C++ runtime long before main).
struct FirstCall {
  bool ran = false;
  Outcomes during;     // every call kind, every range: nothing is cached yet
  uint64_t injected = 0;
  uint64_t threads_live = 0;
  Outcomes after;      // after the clear
};
FirstCall g_first;

#if !HAK_FAULT_MALLOC
void RunFirstCall() {
  g_first.ran = true;
  hk_os_fault_t r = Rule();
  hk_os_fault_set(HK_OS_FAULT_MAP, &r);
  for (size_t n : kSizes) {
    for (int c = 0; c < kCalls; c++) {
      int err = 0;
      void *p = Allocate(static_cast<Call>(c), n, &err);
      if (p != nullptr) {
        g_first.during.Bad(kCallName[c], n, "succeeded with nothing mapped", 0);
        T_FREE(p);
      } else {
        Judge(g_first.during, static_cast<Call>(c), n, p, err);
      }
    }
  }
  g_first.injected = hk_os_fault_injected(HK_OS_FAULT_MAP);
  g_first.threads_live = Stats().threads_live;
  hk_os_fault_clear_all();
  for (size_t n : kSizes) {
    for (int c = 0; c < kCalls; c++) {
      int err = 0;
      void *p = Allocate(static_cast<Call>(c), n, &err);
      Judge(g_first.after, static_cast<Call>(c), n, p, err);
      if (p != nullptr) {
        Stamp(p, n, n);
        if (!Intact(p, n, n)) g_first.after.Bad(kCallName[c], n, "pattern lost", 0);
        T_FREE(p);
      }
    }
  }
}
#endif

TEST(FaultFirstCall, FirstAllocationsFailThenWork) {
  if (!g_first.ran) GTEST_SKIP() << "the malloc override served the runtime before main()";
  const uint64_t calls = kCalls * (sizeof(kSizes) / sizeof(kSizes[0]));
  EXPECT_EQ(g_first.during.bad, 0u) << g_first.during.first_bad;
  EXPECT_EQ(g_first.during.nomem, calls);
  EXPECT_GT(g_first.injected, 0u);
  EXPECT_EQ(g_first.threads_live, 0u) << "the thread record could not be mapped";
  EXPECT_EQ(g_first.after.bad, 0u) << g_first.after.first_bad;
  EXPECT_EQ(g_first.after.ok, calls);
  EXPECT_GE(Stats().threads_live, 1u) << "the thread got its record once the OS recovered";
}

// Allocates blocks of n bytes until NULL (at most `bound`).
struct Exhaust {
  size_t n;
  size_t bound;
  Held held;
  bool reached_null = false;
  int err = 0;
  Exhaust(size_t n_, size_t bound_) : n(n_), bound(bound_), held(bound_) {}
  void Run() {
    while (!held.Full()) {
      errno = 0;
      void *p = T_MALLOC(n);
      if (p == nullptr) {
        reached_null = true;
        err = errno;
        return;
      }
      held.Add(p, n);
    }
  }
};

TEST_F(FaultTest, EveryMapFails) {
  // Blocks allocated before the failure, in every range: they must come
  // through untouched.
  Held before(2 * (sizeof(kSizes) / sizeof(kSizes[0])));
  for (size_t n : kSizes) {
    for (int i = 0; i < 2; i++) {
      void *p = T_MALLOC(n);
      ASSERT_NE(p, nullptr);
      before.Add(p, n);
    }
  }
  T_TRIM(0);  // fewer cached pages: the exhaustion loops end sooner
  const hak_stats_t s0 = Stats();
  // Upper bounds of what the caches can still hand out: small blocks live in
  // the SuperSlabs mapped now, large spans in the bytes mapped now.
  const size_t ss_bytes = s0.superslabs_live * kSsSize;
  std::vector<Exhaust *> ex;
  for (size_t n : {size_t{256}, size_t{1024}, size_t{5000}, size_t{32768}}) ex.push_back(new Exhaust(n, ss_bytes / n + 64));
  for (size_t n : {200 * kKiB, kMiB}) ex.push_back(new Exhaust(n, s0.os_mapped_bytes / n + 64));
  Held got(kCalls * (sizeof(kSizes) / sizeof(kSizes[0])));
  Outcomes calls, huge, realloc_out;
  bool realloc_kept = false;
  uint64_t injected;
  hak_stats_t s1;
  const hak_stats_t s_start = Stats();  // after the holders above were reserved
  {
    Fault f(HK_OS_FAULT_MAP, Rule());
    // Every call kind in every range: NULL with ENOMEM, or a block from the
    // caches.
    for (size_t n : kSizes) {
      for (int c = 0; c < kCalls; c++) {
        int err = 0;
        void *p = Allocate(static_cast<Call>(c), n, &err);
        Judge(calls, static_cast<Call>(c), n, p, err);
        if (p != nullptr) got.Add(p, n);
      }
    }
    // Requests above 32 MiB have no cache: they always fail.
    for (size_t n : {kHuge, 64 * kMiB}) {
      for (int c = 0; c < kCalls; c++) {
        int err = 0;
        void *p = Allocate(static_cast<Call>(c), n, &err);
        if (p != nullptr) {
          huge.Bad(kCallName[c], n, "huge allocation succeeded with every map failing", 0);
          T_FREE(p);
        } else {
          Judge(huge, static_cast<Call>(c), n, p, err);
        }
      }
    }
    // realloc to a huge size fails and leaves the block as it was.
    errno = 0;
    void *q = T_REALLOC(before[0].p, kHuge);
    int err = errno;
    if (q != nullptr) {
      realloc_out.Bad("realloc", kHuge, "succeeded with every map failing", 0);
      before[0].p = q;
      Stamp(q, before[0].n, before[0].key);
    } else {
      Judge(realloc_out, kMalloc, kHuge, q, err);
      realloc_kept = hak_owns(before[0].p) && Intact(before[0].p, before[0].n, before[0].key);
    }
    // Then take everything the caches still have.
    for (Exhaust *e : ex) e->Run();
    injected = hk_os_fault_injected(HK_OS_FAULT_MAP);
    s1 = Stats();
  }
  EXPECT_EQ(calls.bad, 0u) << calls.first_bad;
  EXPECT_EQ(huge.bad, 0u) << huge.first_bad;
  EXPECT_EQ(huge.nomem, 2u * kCalls);
  EXPECT_EQ(realloc_out.bad, 0u) << realloc_out.first_bad;
  EXPECT_EQ(realloc_out.nomem, 1u);
  EXPECT_TRUE(realloc_kept) << "a failed realloc must leave the old block intact";
  for (Exhaust *e : ex) {
    EXPECT_TRUE(e->reached_null) << e->n << "-byte blocks: more than " << e->bound
                                 << " handed out with no map possible";
    EXPECT_EQ(e->err, ENOMEM) << e->n << "-byte blocks";
    EXPECT_EQ(e->held.Corrupt(), 0u) << e->n << "-byte blocks";
  }
  EXPECT_GT(injected, 0u);
  EXPECT_EQ(s1.os_mmap_calls, s_start.os_mmap_calls) << "no mmap may reach the OS while the rule holds";
  EXPECT_LE(s1.os_mapped_bytes, s_start.os_mapped_bytes);
  EXPECT_EQ(before.Corrupt(), 0u);
  EXPECT_EQ(got.Corrupt(), 0u);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  for (Exhaust *e : ex) {
    e->held.FreeAll();
    delete e;
  }
  got.FreeAll();
  before.FreeAll();
  T_TRIM(0);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  ExpectEverythingWorks("after every map failed");
}

TEST_F(FaultTest, NthMapAndFollowingFail) {
  // Only the huge mappings (3 MiB + a header page) match: the first three
  // succeed, the rest fail until the rule is cleared, while small and large
  // allocations go on.
  void *hugep[6];
  int errs[6];
  Held small(64);
  uint64_t matched, injected;
  {
    hk_os_fault_t r = SizedRule(kHuge, kHuge + kMiB);
    r.after = 3;
    Fault f(HK_OS_FAULT_MAP, r);
    for (int i = 0; i < 6; i++) {
      errno = 0;
      hugep[i] = T_MALLOC(kHuge);
      errs[i] = errno;
      Escape(hugep[i]);
      for (size_t n : {size_t{64}, size_t{4096}, 100 * kKiB}) {
        void *p = T_MALLOC(n);
        if (p != nullptr && !small.Full()) small.Add(p, n);
        else if (p != nullptr) T_FREE(p);
      }
    }
    matched = hk_os_fault_matched(HK_OS_FAULT_MAP);
    injected = hk_os_fault_injected(HK_OS_FAULT_MAP);
  }
  for (int i = 0; i < 6; i++) {
    if (i < 3) {
      EXPECT_NE(hugep[i], nullptr) << "huge allocation " << i;
    } else {
      EXPECT_EQ(hugep[i], nullptr) << "huge allocation " << i;
      EXPECT_EQ(errs[i], ENOMEM) << "huge allocation " << i;
    }
  }
  EXPECT_EQ(matched, 6u);
  EXPECT_EQ(injected, 3u);
  EXPECT_EQ(small.size(), 18u) << "unmatched maps must keep working";
  EXPECT_EQ(small.Corrupt(), 0u);
  for (int i = 0; i < 3; i++) {
    if (hugep[i] != nullptr) {
      Stamp(hugep[i], kHuge, i);
      EXPECT_TRUE(Intact(hugep[i], kHuge, i));
      T_FREE(hugep[i]);
    }
  }
  small.FreeAll();
  // A window: the 2nd and 3rd huge maps fail, the 4th works again.
  void *w[4];
  {
    hk_os_fault_t r = SizedRule(kHuge, kHuge + kMiB);
    r.after = 1;
    r.count = 2;
    Fault f(HK_OS_FAULT_MAP, r);
    for (int i = 0; i < 4; i++) {
      w[i] = T_MALLOC(kHuge);
      Escape(w[i]);
    }
  }
  EXPECT_NE(w[0], nullptr);
  EXPECT_EQ(w[1], nullptr);
  EXPECT_EQ(w[2], nullptr);
  EXPECT_NE(w[3], nullptr);
  T_FREE(w[0]);
  T_FREE(w[3]);
  ExpectEverythingWorks("after a window of failed huge maps");
}

TEST_F(FaultTest, SuperSlabSizeMapsFail) {
  // 2 MiB maps (SuperSlabs) fail: small requests run dry, large ones (large
  // regions of 4 MiB and more) and huge ones (their own mapping) still work.
  T_TRIM(0);
  const hak_stats_t s0 = Stats();
  Exhaust tiny(1024, s0.superslabs_live * kSsSize / 1024 + 64);
  Exhaust mid(16384, s0.superslabs_live * kSsSize / 16384 + 64);
  Exhaust large(kLarge, s0.os_mapped_bytes / kLarge + 64);
  void *hugep = nullptr;
  uint64_t injected;
  {
    Fault f(HK_OS_FAULT_MAP, SizedRule(kSsSize, kSsSize));
    tiny.Run();
    mid.Run();
    large.Run();
    hugep = T_MALLOC(kHuge);
    Escape(hugep);
    injected = hk_os_fault_injected(HK_OS_FAULT_MAP);
  }
  EXPECT_FALSE(large.reached_null) << "large regions are not 2 MiB maps";
  EXPECT_EQ(large.held.Corrupt(), 0u);
  for (Exhaust *e : {&tiny, &mid}) {
    EXPECT_TRUE(e->reached_null) << e->n << "-byte blocks";
    EXPECT_EQ(e->err, ENOMEM) << e->n << "-byte blocks";
    EXPECT_EQ(e->held.Corrupt(), 0u) << e->n << "-byte blocks";
  }
  EXPECT_NE(hugep, nullptr) << "huge maps were not to fail";
  EXPECT_GE(injected, 2u) << "a SuperSlab for tiny and one for mid blocks";
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  T_FREE(hugep);
  tiny.held.FreeAll();
  mid.held.FreeAll();
  large.held.FreeAll();
  ExpectEverythingWorks("after SuperSlab-size maps failed");
}

TEST_F(FaultTest, OnlyHugeMapsFail) {
  // Maps above 2 MiB fail: new SuperSlabs keep coming, huge requests fail.
  T_TRIM(0);
  Held small(8 * kSsSize / 1024);
  const hak_stats_t s0 = Stats();
  void *hugep = nullptr, *mediump = nullptr;
  int huge_err = 0;
  {
    Fault f(HK_OS_FAULT_MAP, SizedRule(kSsSize + 1, 0));
    while (!small.Full()) {
      void *p = T_MALLOC(1024);
      if (p == nullptr) break;
      small.Add(p, 1024);
    }
    errno = 0;
    hugep = T_MALLOC(kHuge);
    huge_err = errno;
    Escape(hugep);
    mediump = T_MALLOC(kMiB + kMiB / 2);  // mapping of 1.5 MiB + a page: not matched
    Escape(mediump);
  }
  const hak_stats_t s1 = Stats();
  EXPECT_TRUE(small.Full()) << "1 KiB blocks failed after " << small.size();
  EXPECT_GT(s1.os_mmap_calls, s0.os_mmap_calls) << "new SuperSlabs were mapped";
  EXPECT_EQ(hugep, nullptr);
  EXPECT_EQ(huge_err, ENOMEM);
  EXPECT_NE(mediump, nullptr);
  EXPECT_EQ(small.Corrupt(), 0u);
  T_FREE(mediump);
  small.FreeAll();
  ExpectEverythingWorks("after huge maps failed");
}

// ---- threads -------------------------------------------------------------------

// A thread that allocates on command (its first HAKMEM call is the first
// command, so its thread record is created then).
struct Worker {
  enum { kAllocate = 1, kWork = 2, kExit = 3 };
  std::atomic<int> cmd{0}, ack{0};
  Outcomes o;
  Held held{16};
  std::thread th;

  void Main() {
    int last = 0;
    for (;;) {
      int c;
      while ((c = cmd.load(std::memory_order_acquire)) == last) sched_yield();
      last = c;
      if (c == kAllocate) {
        for (size_t n : {size_t{64}, size_t{1024}, size_t{5000}, kLarge, kHuge}) {
          int err = 0;
          void *p = Allocate(kMalloc, n, &err);
          Judge(o, kMalloc, n, p, err);
          if (p != nullptr) held.Add(p, n);
        }
      } else if (c == kWork) {
        if (held.Corrupt() != 0) o.Bad("worker", 0, "corrupted block", 0);
        held.FreeAll();
        for (size_t n : {size_t{64}, size_t{1024}, size_t{5000}, kLarge, kHuge}) {
          void *p = T_MALLOC(n);
          if (p == nullptr) {
            o.Bad("malloc", n, "failed after the rule was cleared", errno);
            continue;
          }
          held.Add(p, n);
        }
        if (held.Corrupt() != 0) o.Bad("worker", 0, "corrupted block", 0);
        held.FreeAll();
      }
      ack.store(c, std::memory_order_release);
      if (c == kExit) return;
    }
  }
  void Command(int c) {
    cmd.store(c, std::memory_order_release);
    while (ack.load(std::memory_order_acquire) != c) sched_yield();
  }
};

TEST_F(FaultTest, NewThreadsWhileMapsFail) {
  constexpr size_t kMaxWorkers = 256;
  std::vector<Worker *> workers;
  workers.reserve(kMaxWorkers + 1);
  const uint64_t live_base = Stats().threads_live;
  // Phase A: thread records (64 KiB maps) cannot be mapped. Threads start one
  // at a time and stay alive until a thread's record is refused: that thread
  // must still be served (the shared fallback cache) or get NULL/ENOMEM.
  Worker *refused = nullptr;
  uint64_t refused_live_delta = 1, accepted_bad = 0;
  {
    Fault f(HK_OS_FAULT_MAP, SizedRule(kThreadBatch, kThreadBatch));
    while (workers.size() < kMaxWorkers) {
      Worker *w = new Worker;
      w->th = std::thread(&Worker::Main, w);
      workers.push_back(w);
      const uint64_t live0 = Stats().threads_live;
      const uint64_t inj0 = hk_os_fault_injected(HK_OS_FAULT_MAP);
      w->Command(Worker::kAllocate);
      const uint64_t live1 = Stats().threads_live;
      if (hk_os_fault_injected(HK_OS_FAULT_MAP) > inj0) {
        refused = w;
        refused_live_delta = live1 - live0;
        break;
      }
      accepted_bad += live1 != live0 + 1;
    }
  }
  ASSERT_NE(refused, nullptr) << "no thread record map was refused among " << workers.size() << " threads";
  EXPECT_EQ(refused_live_delta, 0u) << "a thread without a record is not counted";
  EXPECT_EQ(accepted_bad, 0u);
  for (Worker *w : workers) EXPECT_EQ(w->o.bad, 0u) << w->o.first_bad;

  // Phase B: every map fails and a new thread starts (no record is free: the
  // phase A threads hold them all). Its huge request must fail; the others
  // get NULL/ENOMEM or come from the fallback cache.
  Worker *late = new Worker;
  late->th = std::thread(&Worker::Main, late);
  workers.push_back(late);
  uint64_t inj_delta, live_delta;
  {
    Fault f(HK_OS_FAULT_MAP, Rule());
    const uint64_t live0 = Stats().threads_live;
    const uint64_t inj0 = hk_os_fault_injected(HK_OS_FAULT_MAP);
    late->Command(Worker::kAllocate);
    inj_delta = hk_os_fault_injected(HK_OS_FAULT_MAP) - inj0;
    live_delta = Stats().threads_live - live0;
  }
  EXPECT_GT(inj_delta, 0u);
  EXPECT_EQ(live_delta, 0u);
  EXPECT_EQ(late->o.bad, 0u) << late->o.first_bad;
  EXPECT_GE(late->o.nomem, 1u) << "the huge request cannot succeed";
  EXPECT_EQ(hkt_stress_seg_check(), 0);

  // The OS recovers: every thread gets its record and works.
  for (Worker *w : workers) w->Command(Worker::kWork);
  EXPECT_EQ(Stats().threads_live, live_base + workers.size());
  for (Worker *w : workers) {
    EXPECT_EQ(w->o.bad, 0u) << w->o.first_bad;
    w->Command(Worker::kExit);
    w->th.join();
    delete w;
  }
  EXPECT_EQ(Stats().threads_live, live_base);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
}

// Two threads allocate and free (also each other's blocks) while the main
// thread switches map and purge failure on and off. In each failure window
// every worker makes a huge request, which must fail.
TEST_F(FaultTest, TwoThreadsWhileFailureToggles) {
  const int kWindows = 40 / static_cast<int>(Slowdown()) + 4;
  constexpr int kSlots = 256;
  std::atomic<int> window{0};  // odd: a failure window
  std::atomic<int> acks{0};
  std::atomic<uint64_t> ops{0};
  std::atomic<bool> stop{false};
  std::atomic<void *> mailbox{nullptr};  // a block handed to the other thread
  struct Result {
    Outcomes o;
    uint64_t huge_failed = 0, huge_windows = 0, corrupt = 0;
  } res[2];
  auto worker = [&](int id) {
    Result &r = res[id];
    Blk slot[kSlots];
    memset(slot, 0, sizeof(slot));
    uint64_t rng = 0x9E3779B97F4A7C15ull * (id + 1);
    auto next = [&rng] {
      rng ^= rng >> 12;
      rng ^= rng << 25;
      rng ^= rng >> 27;
      return rng * 0x2545F4914F6CDD1Dull;
    };
    int seen = 0;
    uint64_t serial = 0;
    while (!stop.load(std::memory_order_acquire)) {
      int w = window.load(std::memory_order_acquire);
      if (w != seen) {
        seen = w;
        if (w & 1) {
          int err = 0;
          void *p = Allocate(kMalloc, kHuge, &err);
          r.huge_windows++;
          if (p == nullptr && err == ENOMEM) r.huge_failed++;
          if (p != nullptr) T_FREE(p);
          acks.fetch_add(1, std::memory_order_acq_rel);
        }
      }
      uint64_t x = next();
      Blk &b = slot[x % kSlots];
      if (b.p == nullptr) {
        uint64_t pct = (x >> 20) % 1000;
        size_t n = pct < 700 ? 16 + (x >> 32) % 1009 : pct < 950 ? 1025 + (x >> 32) % 31744
                             : pct < 995 ? 32769 + (x >> 32) % (512 * kKiB) : kMiB + 1 + (x >> 32) % kMiB;
        Call c = static_cast<Call>((x >> 12) % kCalls);
        int err = 0;
        void *p = Allocate(c, n, &err);
        Judge(r.o, c, n, p, err);
        if (p != nullptr) {
          b = {p, n, Mix(reinterpret_cast<uintptr_t>(p) ^ ++serial)};
          Stamp(p, n, b.key);
        }
      } else {
        if (!Intact(b.p, b.n, b.key)) r.corrupt++;
        if ((x >> 40) % 8 == 0) {
          // Hand it over; free what the other thread handed over.
          void *old = mailbox.exchange(b.p, std::memory_order_acq_rel);
          if (old != nullptr) {
            size_t n;
            if (!SelfIntact(old, &n)) r.corrupt++;
            T_FREE(old);
          }
        } else {
          T_FREE(b.p);
        }
        b.p = nullptr;
      }
      ops.fetch_add(1, std::memory_order_relaxed);
    }
    for (Blk &b : slot) {
      if (b.p == nullptr) continue;
      if (!Intact(b.p, b.n, b.key)) r.corrupt++;
      T_FREE(b.p);
    }
  };
  std::thread t0(worker, 0), t1(worker, 1);
  auto wait_ops = [&](uint64_t more) {
    uint64_t target = ops.load(std::memory_order_relaxed) + more;
    while (ops.load(std::memory_order_relaxed) < target) sched_yield();
  };
  for (int i = 0; i < kWindows; i++) {
    {
      Fault f(HK_OS_FAULT_MAP, i % 2 ? RandomRule(500000, i) : Rule());
      hk_os_fault_t purge = Rule(0, 0, EAGAIN);
      hk_os_fault_set(HK_OS_FAULT_PURGE, &purge);
      if (i % 2 == 0) {
        window.store(2 * i + 1, std::memory_order_release);
        while (acks.load(std::memory_order_acquire) < 2 * (i / 2 + 1)) sched_yield();
      }
      wait_ops(200);
    }
    window.store(2 * i + 2, std::memory_order_release);
    wait_ops(200);
  }
  stop.store(true, std::memory_order_release);
  t0.join();
  t1.join();
  void *left = mailbox.exchange(nullptr);
  if (left != nullptr) {
    size_t n;
    EXPECT_TRUE(SelfIntact(left, &n));
    T_FREE(left);
  }
  for (int id = 0; id < 2; id++) {
    EXPECT_EQ(res[id].o.bad, 0u) << "thread " << id << ": " << res[id].o.first_bad;
    EXPECT_EQ(res[id].corrupt, 0u) << "thread " << id;
    EXPECT_EQ(res[id].huge_failed, res[id].huge_windows) << "thread " << id;
    EXPECT_GE(res[id].huge_windows, static_cast<uint64_t>((kWindows + 1) / 2)) << "thread " << id;
  }
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  T_TRIM(0);
  ExpectEverythingWorks("after failures toggled under two threads");
}

// ---- madvise and munmap failures ----------------------------------------------------

class PurgeFaultTest : public FaultTest, public ::testing::WithParamInterface<int> {};

TEST_P(PurgeFaultTest, FreesAndTrimKeepMemoryThenPurgeWorksAgain) {
  const int error = GetParam();
  T_TRIM(0);
  const hak_stats_t s0 = Stats();
  const size_t kLargeBlocks = 160;  // 40 MiB: past the 16 MiB cache bound once half is freed
  Held small(4096 + 512), large(kLargeBlocks), again(kLargeBlocks + 2048);
  size_t small_corrupt, large_freed;
  uint64_t injected;
  Outcomes zeroed;
  hak_stats_t s1;
  {
    Fault f(HK_OS_FAULT_PURGE, Rule(0, 0, error));
    for (int i = 0; i < 4096; i++) {
      void *p = T_MALLOC(1024);
      if (p != nullptr) small.Add(p, 1024);
    }
    for (int i = 0; i < 512; i++) {
      void *p = T_MALLOC(16384);
      if (p != nullptr) small.Add(p, 16384);
    }
    for (size_t i = 0; i < kLargeBlocks; i++) {
      void *p = T_MALLOC(kLarge);
      if (p != nullptr) large.Add(p, kLarge);
    }
    small_corrupt = small.Corrupt();
    small.FreeAll();  // slabs empty: their purges fail
    // Keep every other span: the segments stay, with dirty free spans.
    large_freed = large.FreeEvery(2, 1);
    T_TRIM(0);
    s1 = Stats();
    injected = hk_os_fault_injected(HK_OS_FAULT_PURGE);
    // The unpurged memory is reused: calloc must still zero it.
    for (size_t i = 0; i < large_freed / kLarge; i++) {
      void *p = T_CALLOC(1, kLarge);
      Judge(zeroed, kCalloc, kLarge, p, errno);
      if (p != nullptr && !again.Full()) again.Add(p, kLarge);
      else if (p != nullptr) T_FREE(p);
    }
    for (int i = 0; i < 2048; i++) {
      void *p = T_CALLOC(1, 1024);
      Judge(zeroed, kCalloc, 1024, p, errno);
      if (p != nullptr && !again.Full()) again.Add(p, 1024);
      else if (p != nullptr) T_FREE(p);
    }
    again.FreeAll();
  }
  EXPECT_EQ(small_corrupt, 0u);
  EXPECT_EQ(large.size(), kLargeBlocks / 2);
  EXPECT_EQ(large.Corrupt(), 0u);
  EXPECT_EQ(zeroed.bad, 0u) << zeroed.first_bad;
  EXPECT_EQ(zeroed.nomem, 0u) << "purge failures must not make allocations fail";
  EXPECT_GT(injected, 0u);
  EXPECT_EQ(s1.os_purged_bytes, s0.os_purged_bytes) << "no purge succeeded, none may be counted";
  EXPECT_GE(s1.large_cached_bytes, large_freed) << "freed spans the OS would not take stay cached";
  EXPECT_EQ(hkt_stress_seg_check(), 0);

  // The OS takes memory back again: one trim purges every cached span.
  T_TRIM(0);
  const hak_stats_t s2 = Stats();
  EXPECT_EQ(s2.large_cached_bytes, 0u) << "a purge refused earlier must be retried";
  EXPECT_GE(s2.os_purged_bytes - s1.os_purged_bytes, large_freed);
  large.FreeAll();
  T_TRIM(0);
  EXPECT_EQ(Stats().large_cached_bytes, 0u);
  ExpectEverythingWorks("after purges failed");
}

INSTANTIATE_TEST_SUITE_P(Errors, PurgeFaultTest, ::testing::Values(EAGAIN, ENOMEM, EINVAL),
                         [](const ::testing::TestParamInfo<int> &i) {
                           return std::string(i.param == EAGAIN ? "EAGAIN" : i.param == ENOMEM ? "ENOMEM" : "EINVAL");
                         });

TEST_F(FaultTest, UnmapFailsAndMemoryIsKept) {
  // munmap refused (ENOMEM: too many mappings): freed huge blocks, spare
  // segments and cached SuperSlabs stay mapped (leaked); nothing breaks.
  T_TRIM(0);
  Held small(3 * kSsSize / 1024), large(16);
  uint64_t injected, huge_corrupt = 0;
  const hak_stats_t s0 = Stats();  // after the holders were reserved
  hak_stats_t s1;
  {
    Fault f(HK_OS_FAULT_RELEASE, Rule());
    for (int i = 0; i < 2; i++) {
      void *p = T_MALLOC(kHuge);
      if (p == nullptr) continue;
      Stamp(p, kHuge, i);
      huge_corrupt += !Intact(p, kHuge, i);
      T_FREE(p);
    }
    while (!small.Full()) {
      void *p = T_MALLOC(1024);
      if (p == nullptr) break;
      small.Add(p, 1024);
    }
    for (int i = 0; i < 16; i++) {
      void *p = T_MALLOC(kLarge);
      if (p != nullptr) large.Add(p, kLarge);
    }
    small.FreeAll();
    large.FreeAll();
    T_TRIM(0);
    injected = hk_os_fault_injected(HK_OS_FAULT_RELEASE);
    s1 = Stats();
  }
  EXPECT_EQ(huge_corrupt, 0u);
  EXPECT_GE(injected, 3u) << "two huge blocks and a large region or a SuperSlab";
  EXPECT_GE(s1.os_mapped_bytes, s0.os_mapped_bytes + 2 * kHuge) << "refused unmaps stay counted as mapped";
  EXPECT_EQ(s1.large_live, s0.large_live);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  const uint64_t munmaps = Stats().os_munmap_calls;
  ExpectEverythingWorks("after unmaps failed");
  T_TRIM(0);
  EXPECT_GT(Stats().os_munmap_calls, munmaps) << "unmapping works again";
}

// A random workload with random map, purge and unmap failures; realloc
// failures must leave the old block intact.
TEST_F(FaultTest, RandomFailuresKeepEveryBlockIntact) {
  const int kIters = 20000 / static_cast<int>(Slowdown());
  constexpr size_t kSlots = 512;
  std::vector<Blk> slot(kSlots, Blk{nullptr, 0, 0});
  Outcomes o, re;
  uint64_t corrupt = 0, realloc_failed = 0, realloc_kept = 0, inj_map, inj_purge;
  uint64_t rng = 12345, serial = 0;
  auto next = [&rng] {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
  };
  auto pick = [](uint64_t x) -> size_t {
    uint64_t pct = (x >> 20) % 1000;
    if (pct < 600) return 16 + (x >> 32) % 1009;
    if (pct < 900) return 1025 + (x >> 32) % 31744;
    if (pct < 985) return 32769 + (x >> 32) % kMiB;
    if (pct < 995) return kMiB + 1 + (x >> 32) % (2 * kMiB);
    return 32 * kMiB + 1 + (x >> 32) % (8 * kMiB);  // a mapping of its own
  };
  {
    Fault f(HK_OS_FAULT_MAP, RandomRule(250000, 1));
    hk_os_fault_t purge = RandomRule(500000, 2, EAGAIN), release = RandomRule(100000, 3);
    hk_os_fault_set(HK_OS_FAULT_PURGE, &purge);
    hk_os_fault_set(HK_OS_FAULT_RELEASE, &release);
    for (int i = 0; i < kIters; i++) {
      uint64_t x = next();
      Blk &b = slot[x % kSlots];
      if (b.p == nullptr) {
        size_t n = pick(x);
        Call c = static_cast<Call>((x >> 8) % kCalls);
        int err = 0;
        void *p = Allocate(c, n, &err);
        Judge(o, c, n, p, err);
        if (p != nullptr) {
          b = {p, n, Mix(++serial)};
          Stamp(p, n, b.key);
        }
      } else if ((x >> 8) % 4 == 0) {
        size_t n = pick(next());
        errno = 0;
        void *q = T_REALLOC(b.p, n);
        int err = errno;
        if (q == nullptr) {
          realloc_failed++;
          Judge(re, kMalloc, n, q, err);
          if (hak_owns(b.p) && Intact(b.p, b.n, b.key)) realloc_kept++;
        } else {
          if (!PrefixIntact(q, b.n, b.key, b.n < n ? b.n : n)) corrupt++;
          b.p = q;
          b.n = n;
          Stamp(q, n, b.key);
        }
      } else {
        if (!Intact(b.p, b.n, b.key)) corrupt++;
        T_FREE(b.p);
        b.p = nullptr;
      }
      if (i % 4096 == 4095) T_TRIM(0);
    }
    inj_map = hk_os_fault_injected(HK_OS_FAULT_MAP);
    inj_purge = hk_os_fault_injected(HK_OS_FAULT_PURGE);
  }
  EXPECT_EQ(o.bad, 0u) << o.first_bad;
  EXPECT_EQ(re.bad, 0u) << re.first_bad;
  EXPECT_EQ(corrupt, 0u);
  EXPECT_EQ(realloc_kept, realloc_failed) << "a failed realloc must leave the old block intact";
  EXPECT_GT(o.nomem, 0u);
  EXPECT_GT(inj_map, 0u);
  EXPECT_GT(inj_purge, 0u);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  for (Blk &b : slot) {
    if (b.p == nullptr) continue;
    EXPECT_TRUE(Intact(b.p, b.n, b.key));
    T_FREE(b.p);
  }
  T_TRIM(0);
  ExpectEverythingWorks("after random failures");
}

// ---- the malloc override: errno and C++ -------------------------------------------

#if HAK_FAULT_MALLOC
std::atomic<int> g_handler_calls{0};
void ClearingNewHandler() {
  g_handler_calls.fetch_add(1);
  hk_os_fault_clear_all();
}
#endif

TEST_F(FaultTest, OverrideReportsOutOfMemory) {
#if !HAK_FAULT_MALLOC
  GTEST_SKIP() << "malloc override flavour only";
#else
  volatile size_t huge = kHuge;  // opaque: keeps new/delete pairs from being elided
  bool threw = false, threw_array = false, threw_aligned = false, vector_threw = false;
  void *m, *nothrow_p, *nothrow_aligned_p, *c;
  int malloc_err, calloc_err, posix_rc;
  {
    Fault f(HK_OS_FAULT_MAP, Rule());
    errno = 0;
    m = malloc(huge);
    malloc_err = errno;
    errno = 0;
    c = calloc(1, huge);
    calloc_err = errno;
    void *pm = nullptr;
    posix_rc = posix_memalign(&pm, 4096, huge);
    Escape(pm);
    try {
      char *p = new char[huge];
      Escape(p);
      delete[] p;
    } catch (const std::bad_alloc &) {
      threw_array = true;
    }
    try {
      void *p = ::operator new(huge);
      Escape(p);
      ::operator delete(p);
    } catch (const std::bad_alloc &) {
      threw = true;
    }
    try {
      void *p = ::operator new(huge, std::align_val_t(4096));
      Escape(p);
      ::operator delete(p, std::align_val_t(4096));
    } catch (const std::bad_alloc &) {
      threw_aligned = true;
    }
    try {
      std::vector<char> v(huge);
      Escape(v.data());
    } catch (const std::bad_alloc &) {
      vector_threw = true;
    }
    nothrow_p = ::operator new(huge, std::nothrow);
    Escape(nothrow_p);
    nothrow_aligned_p = ::operator new(huge, std::align_val_t(4096), std::nothrow);
    Escape(nothrow_aligned_p);
  }
  EXPECT_EQ(m, nullptr);
  EXPECT_EQ(malloc_err, ENOMEM);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(calloc_err, ENOMEM);
  EXPECT_EQ(posix_rc, ENOMEM);
  EXPECT_TRUE(threw_array) << "new[] must throw std::bad_alloc";
  EXPECT_TRUE(threw) << "operator new must throw std::bad_alloc";
  EXPECT_TRUE(threw_aligned) << "aligned operator new must throw std::bad_alloc";
  EXPECT_TRUE(vector_threw);
  EXPECT_EQ(nothrow_p, nullptr);
  EXPECT_EQ(nothrow_aligned_p, nullptr);

  // operator new calls the new_handler and retries: this handler lifts the
  // rule, so the retry succeeds.
  char *p;
  {
    Fault f(HK_OS_FAULT_MAP, Rule());
    std::new_handler old = std::set_new_handler(ClearingNewHandler);
    p = new char[huge];
    std::set_new_handler(old);
  }
  EXPECT_EQ(g_handler_calls.load(), 1);
  ASSERT_NE(p, nullptr);
  Stamp(p, kHuge, 5);
  EXPECT_TRUE(Intact(p, kHuge, 5));
  delete[] p;
  ExpectEverythingWorks("after the override ran out of memory");
#endif
}

}  // namespace

int main(int argc, char **argv) {
#if !HAK_FAULT_MALLOC
  RunFirstCall();  // before anything else calls HAKMEM
#endif
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
