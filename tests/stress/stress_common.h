// tests/stress/stress_common.h — shared by the stress, churn and fork tests.
//
// Each test source is compiled twice (see stress.bzl) and each build runs
// under one or more allocator configurations (environment only):
//   HAK_STRESS_MALLOC=1  the program's malloc family is HAKMEM through
//                        //hakmem:malloc_shim (also every std::thread, vector,
//                        gtest allocation); not built under ASan/TSan;
//   HAK_STRESS_MALLOC=0  the test calls hak_malloc/hak_free... of
//                        //hakmem:hakmem_api directly; runs under every
//                        sanitizer.
// T_MALLOC & co. pick the entry points.
//
// Blocks carry a cookie derived from their address and size over their whole
// length: word 0 = (hash << 24) | size, the other words and the tail bytes a
// sequence seeded by the hash. Verify() recomputes it, so any overlap of two
// live blocks, a write by the allocator into a live block (a free-list link,
// a remote-queue link) or a block handed out twice shows up with its address.
#ifndef HAKMEM_TESTS_STRESS_STRESS_COMMON_H
#define HAKMEM_TESTS_STRESS_STRESS_COMMON_H

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "hakmem/hakmem.h"
#include "tests/stress/stress_support.h"

#ifndef HAK_STRESS_MALLOC
#error "compile with -DHAK_STRESS_MALLOC=0 (hak_* API) or =1 (malloc override)"
#endif

#if HAK_STRESS_MALLOC
#include <malloc.h>
#define T_MALLOC malloc
#define T_FREE free
#define T_CALLOC calloc
#define T_REALLOC realloc
#define T_POSIX_MEMALIGN posix_memalign
#define T_USABLE malloc_usable_size
#define T_API_NAME "malloc"
#else
#define T_MALLOC hak_malloc
#define T_FREE hak_free
#define T_CALLOC hak_calloc
#define T_REALLOC hak_realloc
#define T_POSIX_MEMALIGN hak_posix_memalign
#define T_USABLE hak_usable_size
#define T_API_NAME "hak_malloc"
#endif

// Sanitizer builds (GCC defines these with -fsanitize=...) and aarch64 (runs
// under QEMU user mode) get smaller workloads.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HAK_STRESS_SANITIZER 1
#else
#define HAK_STRESS_SANITIZER 0
#endif
#if defined(__SANITIZE_THREAD__)
#define HAK_STRESS_TSAN 1
#else
#define HAK_STRESS_TSAN 0
#endif

namespace hkstress {

// Extra workload divisor from the environment: the configuration variants
// (stress.bzl, HAK_STRESS_DIVISOR) repeat workloads the default variant runs
// in full. 1 when unset.
inline unsigned EnvDivisor() {
  const char *s = getenv("HAK_STRESS_DIVISOR");
  unsigned long d = s != nullptr ? strtoul(s, nullptr, 10) : 1;
  return d >= 1 && d <= 1000 ? static_cast<unsigned>(d) : 1u;
}

// Workload divisor: 1 on plain x86-64, larger where each operation is slow,
// times EnvDivisor().
inline unsigned Slowdown() {
#if defined(__aarch64__)
  const unsigned base = HAK_STRESS_SANITIZER ? 16u : 3u;
#else
  const unsigned base = HAK_STRESS_TSAN ? 6u : 1u;
#endif
  return base * EnvDivisor();
}

// True when the test runs under QEMU user mode: ci/qemu_aarch64.sh exports
// HAKMEM_RUN_UNDER, and qemu passes the environment to the program. QEMU's
// own memory (translated code, per-thread state) shows in RSS, and it cannot
// start threads in a child forked from a multi-threaded process.
inline bool UnderQemu() { return getenv("HAKMEM_RUN_UNDER") != nullptr; }

// ---- random numbers (xorshift64*, one per thread) ----------------------------
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x1234567ull) {
    if (s == 0) s = 1;
  }
  uint64_t Next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool Chance(unsigned percent) { return Below(100) < percent; }
};

// ---- sizes -----------------------------------------------------------------------
// Mostly tiny, some mid, a few large spans, rarely above 1 MiB (own mapping).
inline size_t PickSize(Rng &r) {
  uint64_t pct = r.Below(1000);
  if (pct < 700) return 8 + r.Below(120);                // tiny, small end
  if (pct < 900) return 128 + r.Below(1024 - 128 + 1);   // tiny up to 1024
  if (pct < 991) return 1025 + r.Below(32768 - 1024);    // mid
  if (pct < 999) return 32769 + r.Below(256 * 1024);     // large spans
  return 256 * 1024 + r.Below(1024 * 1024 + 64 * 1024);  // up to ~1.3 MiB
}

// Sizes covering every range, for the fork children.
inline size_t SizeOfRange(unsigned range, Rng &r) {
  switch (range % 6) {
    case 0:
      return 8 + r.Below(57);  // C0..C3
    case 1:
      return 65 + r.Below(1024 - 64);  // C4..C7
    case 2:
      return 1025 + r.Below(8192 - 1024);  // mid, 4 per power of two
    case 3:
      return 8193 + r.Below(32768 - 8192);  // mid, big classes
    case 4:
      return 32769 + r.Below(256 * 1024);  // large spans
    default:
      return (1u << 20) + 1 + r.Below(1u << 20);  // own mapping
  }
}

// ---- cookies ---------------------------------------------------------------------
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

constexpr size_t kMinCookieSize = 8;
constexpr size_t kMaxCookieSize = (size_t{1} << 24) - 1;

inline uint64_t KeyOf(uintptr_t addr, size_t size) { return Mix(addr ^ (uint64_t{size} << 1)); }
inline uint64_t WordAt(uint64_t key, size_t i) { return key + i * 0x9E3779B97F4A7C15ull; }
inline uint8_t ByteAt(uint64_t key, size_t j) {
  return static_cast<uint8_t>((key >> (8 * (j % 8))) ^ j);
}

// Writes the cookie of a block of `size` (8 <= size < 16 MiB) at p.
inline void Stamp(void *p, size_t size) {
  uint64_t key = KeyOf(reinterpret_cast<uintptr_t>(p), size);
  auto *w = static_cast<uint64_t *>(p);
  w[0] = (key << 24) | size;
  size_t words = size / 8;
  for (size_t i = 1; i < words; i++) w[i] = WordAt(key, i);
  auto *b = static_cast<uint8_t *>(p);
  for (size_t j = words * 8; j < size; j++) b[j] = ByteAt(key, j);
}

// Checks `limit` bytes at p against the cookie a block of `size` at address
// `addr` had (addr != p after a realloc moved it). Returns -1 if intact, else
// the first bad byte offset.
inline long CheckAs(const void *p, uintptr_t addr, size_t size, size_t limit) {
  uint64_t key = KeyOf(addr, size);
  auto *w = static_cast<const uint64_t *>(p);
  auto *b = static_cast<const uint8_t *>(p);
  size_t words = limit / 8;
  if (words > 0 && w[0] != ((key << 24) | size)) return 0;
  for (size_t i = 1; i < words; i++) {
    if (w[i] != WordAt(key, i)) return static_cast<long>(i * 8);
  }
  size_t from = words * 8;
  size_t tail_key_end = size / 8 * 8;  // bytes before this are word-stamped
  for (size_t j = from; j < limit; j++) {
    uint8_t want;
    if (j < tail_key_end) {
      uint64_t word = j < 8 ? ((key << 24) | size) : WordAt(key, j / 8);
      want = static_cast<uint8_t>(word >> (8 * (j % 8)));
    } else {
      want = ByteAt(key, j);
    }
    if (b[j] != want) return static_cast<long>(j);
  }
  return -1;
}

// Verifies a block stamped by Stamp(); the size comes from the block itself.
// On failure fills *why (address, size, offset) and returns false.
inline bool Verify(const void *p, size_t *size_out, std::string *why) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uint64_t w0 = *static_cast<const uint64_t *>(p);
  size_t size = static_cast<size_t>(w0 & kMaxCookieSize);
  char buf[200];
  if (size < kMinCookieSize || (w0 >> 24) != (KeyOf(a, size) & ((uint64_t{1} << 40) - 1))) {
    snprintf(buf, sizeof(buf), "corrupted block header at %p: word 0 = 0x%016" PRIx64, p, w0);
    *why = buf;
    return false;
  }
  long bad = CheckAs(p, a, size, size);
  if (bad >= 0) {
    snprintf(buf, sizeof(buf), "corrupted block %p (size %zu) at offset %ld", p, size, bad);
    *why = buf;
    return false;
  }
  *size_out = size;
  return true;
}

// SPEC §3: every pointer is aligned to min(16, largest power of two <= size).
inline size_t RequiredAlign(size_t size) {
  size_t a = 1;
  while (a * 2 <= size && a < 16) a *= 2;
  return a;
}

// ---- process numbers -----------------------------------------------------------
// Resident bytes from /proc/self/statm, without allocating (fopen would
// call malloc, which would disturb what is being measured).
inline size_t RssBytes() {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long pages = 0, resident = 0;
  if (sscanf(buf, "%lu %lu", &pages, &resident) != 2) return 0;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

inline hak_stats_t Stats() {
  hak_stats_t st;
  memset(&st, 0, sizeof(st));
  st.size = sizeof(st);
  hak_stats_get(&st);
  return st;
}

constexpr size_t kMiB = size_t{1} << 20;

}  // namespace hkstress

#endif  // HAKMEM_TESTS_STRESS_STRESS_COMMON_H
