// Google Benchmark of hakmem/core/memops.h: memset, memzero and memcpy
// throughput (bytes/s) of every path this CPU supports, 64 B .. 1 MiB, next to
// glibc's memset/memcpy in the same binary, plus the dispatched hk_* entry
// points (their extra cost is the indirect call, visible at small sizes).
//
//   bazel run -c opt //benchmarks:memops_bench -- --benchmark_min_time=0.2
//
// Rows are named op/implementation/size, e.g. memcpy/avx2/4096. Buffers are
// 64-byte aligned and reused, so every size up to the cache sizes runs warm.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "hakmem/core/memops.h"

namespace {

constexpr int64_t kMinSize = 64;
constexpr int64_t kMaxSize = int64_t{1} << 20;

using SetFn = void (*)(void *dst, int c, size_t n);
using ZeroFn = void (*)(void *dst, size_t n);
using CopyFn = void (*)(void *dst, const void *src, size_t n);

unsigned char *AlignedBuffer(unsigned char fill) {
  void *p = std::aligned_alloc(64, static_cast<size_t>(kMaxSize));
  if (p == nullptr) std::abort();
  std::memset(p, fill, static_cast<size_t>(kMaxSize));
  return static_cast<unsigned char *>(p);
}

// Allocated on first use, never freed (they live as long as the benchmarks).
unsigned char *Dst() {
  static unsigned char *dst = AlignedBuffer(0x11);
  return dst;
}

unsigned char *Src() {
  static unsigned char *src = AlignedBuffer(0x22);
  return src;
}

// glibc's functions behind the same kind of call as a table entry.
void GlibcSet(void *dst, int c, size_t n) { std::memset(dst, c, n); }
void GlibcZero(void *dst, size_t n) { std::memset(dst, 0, n); }
void GlibcCopy(void *dst, const void *src, size_t n) { std::memcpy(dst, src, n); }

// After each call, DoNotOptimize + ClobberMemory make the stores observable:
// the compiler must assume the buffer is read, so nothing can be elided.
void BM_Set(benchmark::State &state, SetFn set) {
  const size_t n = static_cast<size_t>(state.range(0));
  unsigned char *dst = Dst();
  int c = 0x5a;
  for (auto _ : state) {
    set(dst, c, n);
    benchmark::DoNotOptimize(dst);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Zero(benchmark::State &state, ZeroFn zero) {
  const size_t n = static_cast<size_t>(state.range(0));
  unsigned char *dst = Dst();
  for (auto _ : state) {
    zero(dst, n);
    benchmark::DoNotOptimize(dst);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Copy(benchmark::State &state, CopyFn copy) {
  const size_t n = static_cast<size_t>(state.range(0));
  unsigned char *dst = Dst();
  const unsigned char *src = Src();
  for (auto _ : state) {
    copy(dst, src, n);
    benchmark::DoNotOptimize(dst);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void Register(const std::string &impl, SetFn set, ZeroFn zero, CopyFn copy) {
  benchmark::RegisterBenchmark(("memset/" + impl).c_str(), BM_Set, set)
      ->RangeMultiplier(4)
      ->Range(kMinSize, kMaxSize);
  benchmark::RegisterBenchmark(("memzero/" + impl).c_str(), BM_Zero, zero)
      ->RangeMultiplier(4)
      ->Range(kMinSize, kMaxSize);
  benchmark::RegisterBenchmark(("memcpy/" + impl).c_str(), BM_Copy, copy)
      ->RangeMultiplier(4)
      ->Range(kMinSize, kMaxSize);
}

// Registration runs during static initialisation, before main(): it also
// exercises hk_memops_table_get there.
int RegisterAll() {
  for (hk_memops_path p : {HK_MEMOPS_GENERIC, HK_MEMOPS_AVX2, HK_MEMOPS_NEON}) {
    const hk_memops_table *t = hk_memops_table_get(p);
    if (t != nullptr) Register(hk_memops_path_name(p), t->set, t->zero, t->copy);
  }
  Register("glibc", GlibcSet, GlibcZero, GlibcCopy);
  Register(std::string("dispatch_") + hk_memops_path_name(hk_memops_active()), hk_memset,
           hk_memzero, hk_memcpy);
  return 0;
}

[[maybe_unused]] const int registered = RegisterAll();

}  // namespace

BENCHMARK_MAIN();
