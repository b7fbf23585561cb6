// Exhaustive checks of hakmem/core/memops.h: for every path this CPU supports,
// every length 0..4096 at every destination alignment 0..63 (memcpy: every
// source alignment too, see CopyEveryLengthAndAlignment), against a reference,
// with guard bytes on both sides; plus dispatch: forcing, the automatic choice,
// calls before main() and from racing threads.
#include "hakmem/core/memops.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kMaxLen = 4096;
constexpr size_t kAlignments = 64;  // start offsets 0..63 from a 64-byte boundary
constexpr size_t kGuard = 64;       // bytes checked on each side of the range
constexpr size_t kArenaSize = kGuard + kAlignments + kMaxLen + kGuard;

constexpr hk_memops_path kConcretePaths[] = {HK_MEMOPS_GENERIC, HK_MEMOPS_AVX2, HK_MEMOPS_NEON};

std::vector<hk_memops_path> SupportedConcretePaths() {
  std::vector<hk_memops_path> out;
  for (hk_memops_path p : kConcretePaths) {
    if (hk_memops_supported(p)) out.push_back(p);
  }
  return out;
}

hk_memops_path ExpectedAutoPath() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx2") ? HK_MEMOPS_AVX2 : HK_MEMOPS_GENERIC;
#elif defined(__aarch64__)
  return HK_MEMOPS_NEON;
#else
  return HK_MEMOPS_GENERIC;
#endif
}

// A 64-byte-aligned byte buffer.
class Arena {
 public:
  explicit Arena(size_t size) : storage_(size + 64) {
    uintptr_t p = reinterpret_cast<uintptr_t>(storage_.data());
    base_ = reinterpret_cast<unsigned char *>((p + 63) & ~uintptr_t{63});
    size_ = size;
  }
  unsigned char *base() { return base_; }
  size_t size() const { return size_; }

 private:
  std::vector<unsigned char> storage_;
  unsigned char *base_;
  size_t size_;
};

// Deterministic bytes with the high bit clear (xorshift).
void FillSource(unsigned char *p, size_t n, uint32_t seed) {
  uint32_t x = seed | 1u;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = static_cast<unsigned char>(x & 0x7f);
  }
}

size_t FirstMismatch(const unsigned char *a, const unsigned char *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (a[i] != b[i]) return i;
  }
  return n;
}

// Checks [dst, dst + len) against want and kGuard bytes on each side against
// the background bg. Returns "" or what went wrong.
std::string CheckRange(const unsigned char *dst, size_t len, const unsigned char *want,
                       const unsigned char *bg) {
  if (std::memcmp(dst - kGuard, bg, kGuard) != 0) {
    size_t i = FirstMismatch(dst - kGuard, bg, kGuard);
    return "underrun: byte " + std::to_string(static_cast<long>(i) - static_cast<long>(kGuard)) +
           " before the range was written";
  }
  if (std::memcmp(dst + len, bg, kGuard) != 0) {
    size_t i = FirstMismatch(dst + len, bg, kGuard);
    return "overrun: byte " + std::to_string(i) + " after the range was written";
  }
  if (len != 0 && std::memcmp(dst, want, len) != 0) {
    size_t i = FirstMismatch(dst, want, len);
    return "wrong byte at offset " + std::to_string(i) + ": got " + std::to_string(dst[i]) +
           ", want " + std::to_string(want[i]);
  }
  return "";
}

// Runs set(dst, c, len) for every length and every align_stride-th alignment,
// with c = values[(align + len) % values.size()]: with several values, each
// one meets every alignment and lengths all over the range. Every byte of the
// range must become the low byte of c. The range is restored to the
// background after each call, so a byte a call fails to write cannot be
// hidden by an earlier call.
template <typename SetFn>
void SweepSet(const char *what, const std::vector<int> &values, SetFn set,
              size_t align_stride = 1) {
  unsigned char background = 0x3c;
  auto is_fill = [&values](unsigned char b) {
    return std::any_of(values.begin(), values.end(),
                       [b](int c) { return static_cast<unsigned char>(c & 0xff) == b; });
  };
  while (is_fill(background)) background++;
  std::vector<std::vector<unsigned char>> want;
  for (int c : values) want.emplace_back(kMaxLen, static_cast<unsigned char>(c & 0xff));
  std::vector<unsigned char> bg(kGuard, background);
  Arena arena(kArenaSize);
  std::memset(arena.base(), background, arena.size());
  for (size_t align = 0; align < kAlignments; align += align_stride) {
    unsigned char *dst = arena.base() + kGuard + align;
    for (size_t len = 0; len <= kMaxLen; len++) {
      const size_t k = (align + len) % values.size();
      set(dst, values[k], len);
      std::string err = CheckRange(dst, len, want[k].data(), bg.data());
      ASSERT_EQ(err, "") << what << " c " << values[k] << " len " << len << " dst align "
                         << align;
      std::memset(dst, background, len);
    }
  }
}

class MemopsPathTest : public ::testing::TestWithParam<hk_memops_path> {
 protected:
  void SetUp() override {
    if (!hk_memops_supported(GetParam())) {
      GTEST_SKIP() << hk_memops_path_name(GetParam()) << " is not supported on this CPU/arch";
    }
    ASSERT_EQ(hk_memops_force(GetParam()), 0);
    ASSERT_EQ(hk_memops_active(), GetParam());
  }
  void TearDown() override { EXPECT_EQ(hk_memops_force(HK_MEMOPS_AUTO), 0); }
};

TEST_P(MemopsPathTest, TableDescribesItsPath) {
  const hk_memops_table *t = hk_memops_table_get(GetParam());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->path, GetParam());
  EXPECT_NE(t->set, nullptr);
  EXPECT_NE(t->zero, nullptr);
  EXPECT_NE(t->copy, nullptr);
}

TEST_P(MemopsPathTest, MemzeroEveryLengthAndAlignment) {
  SweepSet("hk_memzero", {0}, [](unsigned char *dst, int, size_t len) { hk_memzero(dst, len); });
}

TEST_P(MemopsPathTest, MemsetEveryLengthAndAlignment) {
  SweepSet("hk_memset", {0xff},
           [](unsigned char *dst, int c, size_t len) { hk_memset(dst, c, len); });
}

TEST_P(MemopsPathTest, MemsetFillValuesUseOnlyTheLowByte) {
  // 0x100 and INT_MIN fill with 0x00, 0x1a5 with 0xa5, -1 with 0xff, 0x7fffff80
  // with 0x80. Seven values (coprime with the 64 alignments and every vector
  // width), so each value meets every alignment at every length residue.
  SweepSet("hk_memset", {0, 0xff, 0x100, 0x1a5, -1, 0x7fffff80, INT_MIN},
           [](unsigned char *dst, int c, size_t len) { hk_memset(dst, c, len); });
}

TEST_P(MemopsPathTest, TableEntriesWithoutDispatch) {
  // The exhaustive sweeps go through dispatch; the direct entry points (used by
  // the benchmarks) get every length at a few alignments, with the active path
  // switched to another one so that dispatch cannot stand in for them.
  const hk_memops_table *t = hk_memops_table_get(GetParam());
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(hk_memops_force(GetParam() == HK_MEMOPS_GENERIC ? ExpectedAutoPath()
                                                            : HK_MEMOPS_GENERIC),
            0);
  constexpr size_t kStride = 21;  // alignments 0, 21, 42, 63
  SweepSet("table set", {0x377, 0x80}, [t](unsigned char *dst, int c, size_t n) { t->set(dst, c, n); },
           kStride);
  SweepSet("table zero", {0}, [t](unsigned char *dst, int, size_t n) { t->zero(dst, n); },
           kStride);
  constexpr unsigned char kBackground = 0xc3;
  Arena dst_arena(kArenaSize);
  Arena src_arena(kArenaSize);
  FillSource(src_arena.base(), src_arena.size(), 0x7f4a7c15u);
  std::memset(dst_arena.base(), kBackground, dst_arena.size());
  std::vector<unsigned char> bg(kGuard, kBackground);
  for (size_t align = 0; align < kAlignments; align += kStride) {
    unsigned char *dst = dst_arena.base() + kGuard + align;
    const unsigned char *src = src_arena.base() + kGuard + (align * 5 + 3) % kAlignments;
    for (size_t len = 0; len <= kMaxLen; len++) {
      t->copy(dst, src, len);
      std::string err = CheckRange(dst, len, src, bg.data());
      ASSERT_EQ(err, "") << "table copy len " << len << " dst align " << align;
      std::memset(dst, kBackground, len);
    }
  }
}

// Destination background has the high bit set, source bytes have it clear, so
// any stray copied byte in a guard is caught. For each destination alignment
// and length, two source alignments: the same as the destination (the aligned
// case), and (len + 3 * dst_align) % 64, which walks through all 64 source
// alignments as len varies, so every (dst, src) alignment pair is exercised.
TEST_P(MemopsPathTest, CopyEveryLengthAndAlignment) {
  constexpr unsigned char kBackground = 0xc3;
  Arena dst_arena(kArenaSize);
  Arena src_arena(kArenaSize);
  FillSource(src_arena.base(), src_arena.size(), 0x9e3779b9u);
  std::memset(dst_arena.base(), kBackground, dst_arena.size());
  std::vector<unsigned char> bg(kGuard, kBackground);
  for (size_t dst_align = 0; dst_align < kAlignments; dst_align++) {
    unsigned char *dst = dst_arena.base() + kGuard + dst_align;
    for (size_t len = 0; len <= kMaxLen; len++) {
      const size_t src_aligns[2] = {dst_align, (len + 3 * dst_align) % kAlignments};
      for (size_t src_align : src_aligns) {
        const unsigned char *src = src_arena.base() + kGuard + src_align;
        hk_memcpy(dst, src, len);
        std::string err = CheckRange(dst, len, src, bg.data());
        ASSERT_EQ(err, "") << "hk_memcpy len " << len << " dst align " << dst_align
                           << " src align " << src_align;
        std::memset(dst, kBackground, len);
      }
    }
  }
}

// The full (dst, src) alignment product for the lengths where the code
// changes strategy (the boundaries of the small, medium and loop cases).
TEST_P(MemopsPathTest, CopyAllAlignmentPairsAtBoundaryLengths) {
  constexpr unsigned char kBackground = 0xc3;
  Arena dst_arena(kArenaSize);
  Arena src_arena(kArenaSize);
  FillSource(src_arena.base(), src_arena.size(), 0x2545f491u);
  std::memset(dst_arena.base(), kBackground, dst_arena.size());
  std::vector<unsigned char> bg(kGuard, kBackground);
  std::vector<size_t> lens;
  for (size_t b : {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}) {
    for (size_t l = b > 2 ? b - 2 : 0; l <= b + 2; l++) lens.push_back(l);
  }
  for (size_t l : {size_t{1000}, size_t{4095}, size_t{4096}}) lens.push_back(l);
  for (size_t dst_align = 0; dst_align < kAlignments; dst_align++) {
    unsigned char *dst = dst_arena.base() + kGuard + dst_align;
    for (size_t src_align = 0; src_align < kAlignments; src_align++) {
      const unsigned char *src = src_arena.base() + kGuard + src_align;
      for (size_t len : lens) {
        hk_memcpy(dst, src, len);
        std::string err = CheckRange(dst, len, src, bg.data());
        ASSERT_EQ(err, "") << "hk_memcpy len " << len << " dst align " << dst_align
                           << " src align " << src_align;
        std::memset(dst, kBackground, len);
      }
    }
  }
}

// The source flush against an inaccessible page on either side: reading one
// byte outside [src, src + len) faults.
TEST_P(MemopsPathTest, CopyNeverReadsOutsideSource) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t span = (kMaxLen + page - 1) / page * page;
  const size_t total = page + span + page;
  void *map = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  unsigned char *lo = static_cast<unsigned char *>(map);
  unsigned char *body = lo + page;
  FillSource(body, span, 0x85ebca6bu);
  ASSERT_EQ(mprotect(lo, page, PROT_NONE), 0);
  ASSERT_EQ(mprotect(body + span, page, PROT_NONE), 0);
  std::vector<unsigned char> dst(kMaxLen);
  for (size_t len = 0; len <= kMaxLen; len++) {
    const unsigned char *at_end = body + span - len;
    hk_memcpy(dst.data(), at_end, len);
    ASSERT_EQ(std::memcmp(dst.data(), at_end, len), 0) << "len " << len << " (source at end)";
    hk_memcpy(dst.data(), body, len);
    ASSERT_EQ(std::memcmp(dst.data(), body, len), 0) << "len " << len << " (source at start)";
  }
  ASSERT_EQ(munmap(map, total), 0);
}

TEST_P(MemopsPathTest, ZeroLengthTouchesNothing) {
  hk_memset(nullptr, 0x11, 0);
  hk_memzero(nullptr, 0);
  hk_memcpy(nullptr, nullptr, 0);
  unsigned char b[4] = {1, 2, 3, 4};
  hk_memset(b + 1, 0, 0);
  hk_memzero(b + 1, 0);
  hk_memcpy(b + 1, b + 3, 0);
  EXPECT_EQ(b[0] + b[1] * 10 + b[2] * 100 + b[3] * 1000, 4321);
}

std::string PathParamName(const ::testing::TestParamInfo<hk_memops_path> &info) {
  return hk_memops_path_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllPaths, MemopsPathTest, ::testing::ValuesIn(kConcretePaths),
                         PathParamName);

// ---------------------------------------------------------------------------
// Dispatch.

TEST(MemopsDispatch, PathNames) {
  EXPECT_STREQ(hk_memops_path_name(HK_MEMOPS_AUTO), "auto");
  EXPECT_STREQ(hk_memops_path_name(HK_MEMOPS_GENERIC), "generic");
  EXPECT_STREQ(hk_memops_path_name(HK_MEMOPS_AVX2), "avx2");
  EXPECT_STREQ(hk_memops_path_name(HK_MEMOPS_NEON), "neon");
}

TEST(MemopsDispatch, SupportMatchesTheCpu) {
  EXPECT_TRUE(hk_memops_supported(HK_MEMOPS_AUTO));
  EXPECT_TRUE(hk_memops_supported(HK_MEMOPS_GENERIC));
#if defined(__x86_64__)
  // libgcc's check includes the OS's XCR0 (YMM state enabled).
  EXPECT_EQ(hk_memops_supported(HK_MEMOPS_AVX2), __builtin_cpu_supports("avx2") != 0);
  EXPECT_FALSE(hk_memops_supported(HK_MEMOPS_NEON));
#elif defined(__aarch64__)
  EXPECT_TRUE(hk_memops_supported(HK_MEMOPS_NEON));
  EXPECT_FALSE(hk_memops_supported(HK_MEMOPS_AVX2));
#endif
  for (hk_memops_path p : kConcretePaths) {
    EXPECT_EQ(hk_memops_table_get(p) != nullptr, hk_memops_supported(p)) << hk_memops_path_name(p);
  }
}

TEST(MemopsDispatch, AutoPicksTheBestSupportedPath) {
  ASSERT_EQ(hk_memops_force(HK_MEMOPS_GENERIC), 0);
  ASSERT_EQ(hk_memops_active(), HK_MEMOPS_GENERIC);
  ASSERT_EQ(hk_memops_force(HK_MEMOPS_AUTO), 0);
  EXPECT_EQ(hk_memops_active(), ExpectedAutoPath());
  ASSERT_NE(hk_memops_table_get(HK_MEMOPS_AUTO), nullptr);
  EXPECT_EQ(hk_memops_table_get(HK_MEMOPS_AUTO)->path, ExpectedAutoPath());
#if defined(__x86_64__)
  if (hk_memops_supported(HK_MEMOPS_AVX2)) {
    EXPECT_EQ(hk_memops_active(), HK_MEMOPS_AVX2);
  }
#endif
  // Re-armed resolver: the first call after AUTO resolves and works.
  ASSERT_EQ(hk_memops_force(HK_MEMOPS_AUTO), 0);
  unsigned char buf[100];
  hk_memset(buf, 0x42, sizeof buf);
  for (unsigned char b : buf) ASSERT_EQ(b, 0x42);
  EXPECT_EQ(hk_memops_active(), ExpectedAutoPath());
}

TEST(MemopsDispatch, ForcingAnUnsupportedPathFailsAndChangesNothing) {
  // (Values outside the enum are rejected too, but C++ cannot even form them:
  // an enum without a fixed type only holds 0..3 here.)
  std::vector<hk_memops_path> bad;
  for (hk_memops_path p : kConcretePaths) {
    if (!hk_memops_supported(p)) bad.push_back(p);
  }
  ASSERT_FALSE(bad.empty());
#if defined(__x86_64__)
  EXPECT_NE(std::find(bad.begin(), bad.end(), HK_MEMOPS_NEON), bad.end());
#elif defined(__aarch64__)
  EXPECT_NE(std::find(bad.begin(), bad.end(), HK_MEMOPS_AVX2), bad.end());
#endif
  for (hk_memops_path start : SupportedConcretePaths()) {
    ASSERT_EQ(hk_memops_force(start), 0);
    for (hk_memops_path p : bad) {
      EXPECT_EQ(hk_memops_force(p), EINVAL) << "path value " << static_cast<int>(p);
      EXPECT_EQ(hk_memops_active(), start) << "after forcing path value " << static_cast<int>(p);
    }
    unsigned char buf[300];
    hk_memset(buf, 0x1c, sizeof buf);
    for (unsigned char b : buf) ASSERT_EQ(b, 0x1c);
  }
  EXPECT_EQ(hk_memops_force(HK_MEMOPS_AUTO), 0);
}

TEST(MemopsDispatch, ForcingEverySupportedPathSwitchesAllThreeOps) {
  for (hk_memops_path p : SupportedConcretePaths()) {
    ASSERT_EQ(hk_memops_force(p), 0);
    EXPECT_EQ(hk_memops_active(), p);
    unsigned char a[1000], b[1000];
    hk_memset(a, 0x3e, sizeof a);
    hk_memcpy(b, a, sizeof b);
    for (unsigned char x : b) ASSERT_EQ(x, 0x3e) << hk_memops_path_name(p);
    hk_memzero(b, sizeof b);
    for (unsigned char x : b) ASSERT_EQ(x, 0) << hk_memops_path_name(p);
  }
  EXPECT_EQ(hk_memops_force(HK_MEMOPS_AUTO), 0);
}

// Calls made during static initialisation, before main() and before any test
// has forced a path: the first one goes through the resolver.
struct BeforeMain {
  bool ran = false;
  bool correct = false;
  hk_memops_path active = HK_MEMOPS_AUTO;
  BeforeMain() {
    unsigned char a[777], b[777];
    hk_memset(a, 0x1234, sizeof a);
    hk_memcpy(b, a, sizeof b);
    bool ok = true;
    for (unsigned char x : b) ok = ok && x == 0x34;
    hk_memzero(a + 1, sizeof a - 2);
    ok = ok && a[0] == 0x34 && a[sizeof a - 1] == 0x34;
    for (size_t i = 1; i + 1 < sizeof a; i++) ok = ok && a[i] == 0;
    active = hk_memops_active();
    correct = ok;
    ran = true;
  }
};
BeforeMain g_before_main;

TEST(MemopsDispatch, WorksBeforeMain) {
  ASSERT_TRUE(g_before_main.ran);
  EXPECT_TRUE(g_before_main.correct);
  EXPECT_EQ(g_before_main.active, ExpectedAutoPath());
}

// Why threads cannot be started here, or "" if they can. Under QEMU with
// `-L /usr/aarch64-linux-gnu`, the dynamic loader comes from Debian's
// libc6-arm64-cross while libc.so.6 may come from the multiarch libc6:arm64
// (a different glibc build): pthread_create then spins forever in glibc's
// stack cache. /proc/self/maps names the files actually mapped.
std::string ThreadsUnusableReason() {
  FILE *maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return "";
  std::string loader_dir, libc_dir;
  char line[4096];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    const char *slash = std::strchr(line, '/');
    if (slash == nullptr) continue;
    std::string path(slash);
    while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
    const size_t cut = path.rfind('/');
    const std::string dir = path.substr(0, cut), file = path.substr(cut + 1);
    if (file.rfind("ld-linux", 0) == 0) loader_dir = dir;
    if (file == "libc.so.6") libc_dir = dir;
  }
  std::fclose(maps);
  if (loader_dir.empty() || libc_dir.empty() || loader_dir == libc_dir) return "";
  return "the dynamic loader (" + loader_dir + ") and libc.so.6 (" + libc_dir +
         ") come from different glibc builds: pthread_create would hang";
}

// Threads race through a freshly re-armed resolver, and through a path that
// another thread keeps switching; every call must produce the right bytes.
TEST(MemopsDispatch, ThreadSafeResolutionAndForcing) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 30;
  constexpr size_t kLen = 1500;
  const std::string unusable = ThreadsUnusableReason();
  if (!unusable.empty()) GTEST_SKIP() << unusable;
  const std::vector<hk_memops_path> paths = SupportedConcretePaths();
  for (int round = 0; round < kRounds; round++) {
    ASSERT_EQ(hk_memops_force(HK_MEMOPS_AUTO), 0);
    std::atomic<bool> go{false};
    std::atomic<bool> stop{false};
    std::atomic<int> errors{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; t++) {
      workers.emplace_back([&, t] {
        std::vector<unsigned char> a(kLen + 1), b(kLen + 1);
        while (!go.load(std::memory_order_acquire)) {
        }
        for (int i = 0; i < 200; i++) {
          const unsigned char v = static_cast<unsigned char>(t * 31 + i);
          const size_t len = (static_cast<size_t>(i) * 97) % kLen + 1;
          a[len] = b[len] = static_cast<unsigned char>(~v);
          hk_memset(a.data(), v, len);
          hk_memcpy(b.data(), a.data(), len);
          bool ok = a[len] == static_cast<unsigned char>(~v) && b[len] == a[len];
          for (size_t k = 0; k < len; k++) ok = ok && b[k] == v;
          hk_memzero(b.data(), len);
          for (size_t k = 0; k < len; k++) ok = ok && b[k] == 0;
          if (!ok) errors.fetch_add(1);
        }
      });
    }
    // Odd rounds: one more thread keeps forcing paths during the calls.
    std::thread forcer;
    if (round % 2 == 1) {
      forcer = std::thread([&] {
        size_t k = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          hk_memops_path p = k % 3 == 2 ? HK_MEMOPS_AUTO : paths[k % paths.size()];
          if (hk_memops_force(p) != 0) errors.fetch_add(1);
          k++;
        }
      });
    }
    go.store(true, std::memory_order_release);
    for (std::thread &w : workers) w.join();
    stop.store(true);
    if (forcer.joinable()) forcer.join();
    ASSERT_EQ(errors.load(), 0) << "round " << round;
    if (round % 2 == 0) {
      EXPECT_EQ(hk_memops_active(), ExpectedAutoPath());
    }
  }
  EXPECT_EQ(hk_memops_force(HK_MEMOPS_AUTO), 0);
}

}  // namespace
