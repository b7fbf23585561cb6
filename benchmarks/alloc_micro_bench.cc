// Google Benchmark micro-benchmarks of HAKMEM's allocation paths through its
// hak_* API (//hakmem:hakmem_api, no malloc override), side by side with the
// process's own malloc (glibc) in the same binary:
//
//   BM_{Hak,Glibc}Pair/N              malloc(N) + free, every tiny class size
//                                     (8 .. 1024 B) and mid/large sizes
//                                     (2 KiB, 8 KiB, 32 KiB, 256 KiB, 2 MiB)
//   BM_{Hak,Glibc}Calloc/N            calloc(1, N) + free, 64 B, 4 KiB, 1 MiB
//   BM_{Hak,Glibc}ReallocGrowth       one iteration = malloc(16), realloc
//                                     doubling up to 1 MiB (16 calls), free;
//                                     items = realloc calls
//   BM_{Hak,Glibc}CrossThreadFree/N   two threads: the producer mallocs
//                                     batches of N-byte blocks, the consumer
//                                     frees them (remote frees); wall-clock
//                                     time, items = blocks handed over
//                                     (its Iterations column counts both
//                                     threads' batches: read items_per_second)
//
//   bazel run //benchmarks:alloc_micro_bench -- --benchmark_min_time=0.1
//
// Without --benchmark_min_time the binary uses 0.1 s per row (Google
// Benchmark's own default is 0.5 s). Rows of the two allocators are
// registered in pairs, so each HAKMEM row is followed by its glibc row. The
// blocks are not written to: these rows measure the allocator calls only.
// glibc's state carries over from row to row (e.g. its mmap threshold rises
// once a large mmapped block is freed), as it would in a real program.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "hakmem/hakmem.h"

namespace {

// The two allocators behind the same static interface: the benchmark
// templates call them directly (no indirect call in the measured loop).
struct Hak {
  static void *Malloc(size_t n) { return hak_malloc(n); }
  static void *Calloc(size_t k, size_t n) { return hak_calloc(k, n); }
  static void *Realloc(void *p, size_t n) { return hak_realloc(p, n); }
  static void Free(void *p) { hak_free(p); }
};

struct Glibc {
  static void *Malloc(size_t n) { return std::malloc(n); }
  static void *Calloc(size_t k, size_t n) { return std::calloc(k, n); }
  static void *Realloc(void *p, size_t n) { return std::realloc(p, n); }
  static void Free(void *p) { std::free(p); }
};

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = 1024 * kKiB;

// malloc + free of one size. DoNotOptimize makes the pointer escape (the
// compiler may not drop a glibc malloc/free pair it can see whole);
// ClobberMemory keeps the iterations from being merged.
template <class A>
void BM_Pair(benchmark::State &state) {
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void *p = A::Malloc(n);
    benchmark::DoNotOptimize(p);
    if (p == nullptr) {
      state.SkipWithError("malloc returned NULL");
      break;
    }
    A::Free(p);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

template <class A>
void BM_Calloc(benchmark::State &state) {
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void *p = A::Calloc(1, n);
    benchmark::DoNotOptimize(p);
    if (p == nullptr) {
      state.SkipWithError("calloc returned NULL");
      break;
    }
    A::Free(p);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

constexpr size_t kReallocStart = 16;
constexpr size_t kReallocEnd = static_cast<size_t>(kMiB);
constexpr int64_t kReallocSteps = 16;  // 16 B -> 32 B -> ... -> 1 MiB
static_assert(kReallocStart << kReallocSteps == kReallocEnd, "chain length");

// One iteration is the whole chain: malloc(16), 16 doubling reallocs, free.
template <class A>
void BM_ReallocGrowth(benchmark::State &state) {
  for (auto _ : state) {
    void *p = A::Malloc(kReallocStart);
    benchmark::DoNotOptimize(p);
    if (p == nullptr) {
      state.SkipWithError("malloc returned NULL");
      break;
    }
    bool failed = false;
    for (size_t n = kReallocStart * 2; n <= kReallocEnd; n *= 2) {
      void *q = A::Realloc(p, n);
      benchmark::DoNotOptimize(q);
      if (q == nullptr) {
        failed = true;
        break;
      }
      p = q;
    }
    // After a failed realloc p is still the caller's (and freed here); gcc 12's
    // -Wuse-after-free cannot tell, DoNotOptimize hides the pointer's origin.
    benchmark::DoNotOptimize(p);
    A::Free(p);
    benchmark::ClobberMemory();
    if (failed) {
      state.SkipWithError("realloc returned NULL");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kReallocSteps);
}

// Single-producer single-consumer ring of batches between the two threads of
// a cross-thread-free row. Both threads of a Google Benchmark run execute the
// same number of iterations: the producer pushes one batch per iteration, the
// consumer pops one, so the ring is empty again when the run ends (the
// counters never need resetting). The waits yield: the development machine
// has 2 cores and other work may be running.
constexpr size_t kBatch = 64;  // blocks per batch
constexpr uint64_t kSlots = 16;  // batches in flight at most

struct Ring {
  alignas(64) std::atomic<uint64_t> head{0};  // batches pushed (producer)
  alignas(64) std::atomic<uint64_t> tail{0};  // batches popped (consumer)
  alignas(64) void *slot[kSlots][kBatch];
};

template <class A>
Ring &RingFor() {
  static Ring ring;  // one per allocator; rows run one after another
  return ring;
}

template <class A>
void BM_CrossThreadFree(benchmark::State &state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Ring &ring = RingFor<A>();
  if (state.thread_index() == 0) {
    // Producer: allocate a batch into the next free slot, publish it.
    uint64_t h = ring.head.load(std::memory_order_relaxed);
    for (auto _ : state) {
      while (h - ring.tail.load(std::memory_order_acquire) == kSlots) std::this_thread::yield();
      void **batch = ring.slot[h % kSlots];
      for (size_t i = 0; i < kBatch; i++) {
        void *p = A::Malloc(n);
        if (p == nullptr) {
          // The consumer waits for this batch: it cannot be skipped.
          std::fprintf(stderr, "alloc_micro_bench: malloc(%zu) returned NULL\n", n);
          std::abort();
        }
        batch[i] = p;
      }
      benchmark::ClobberMemory();
      ring.head.store(++h, std::memory_order_release);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
  } else {
    // Consumer: wait for the next batch, free every block, release the slot.
    uint64_t t = ring.tail.load(std::memory_order_relaxed);
    for (auto _ : state) {
      while (ring.head.load(std::memory_order_acquire) == t) std::this_thread::yield();
      void **batch = ring.slot[t % kSlots];
      for (size_t i = 0; i < kBatch; i++) A::Free(batch[i]);
      benchmark::ClobberMemory();
      ring.tail.store(++t, std::memory_order_release);
    }
  }
}

void RegisterAll() {
  const std::vector<int64_t> pair_sizes = {
      8, 16, 32, 64, 128, 256, 512, 1024,                  // tiny C0..C7
      2 * kKiB, 8 * kKiB, 32 * kKiB, 256 * kKiB, 2 * kMiB,  // mid, large
  };
  for (int64_t n : pair_sizes) {
    benchmark::RegisterBenchmark("BM_HakPair", BM_Pair<Hak>)->Arg(n);
    benchmark::RegisterBenchmark("BM_GlibcPair", BM_Pair<Glibc>)->Arg(n);
  }
  for (int64_t n : {int64_t{64}, 4 * kKiB, kMiB}) {
    benchmark::RegisterBenchmark("BM_HakCalloc", BM_Calloc<Hak>)->Arg(n);
    benchmark::RegisterBenchmark("BM_GlibcCalloc", BM_Calloc<Glibc>)->Arg(n);
  }
  benchmark::RegisterBenchmark("BM_HakReallocGrowth", BM_ReallocGrowth<Hak>);
  benchmark::RegisterBenchmark("BM_GlibcReallocGrowth", BM_ReallocGrowth<Glibc>);
  for (int64_t n : {int64_t{64}, int64_t{1024}, 8 * kKiB}) {
    benchmark::RegisterBenchmark("BM_HakCrossThreadFree", BM_CrossThreadFree<Hak>)
        ->Arg(n)
        ->Threads(2)
        ->UseRealTime();
    benchmark::RegisterBenchmark("BM_GlibcCrossThreadFree", BM_CrossThreadFree<Glibc>)
        ->Arg(n)
        ->Threads(2)
        ->UseRealTime();
  }
}

}  // namespace

int main(int argc, char **argv) {
  // A default --benchmark_min_time ahead of the user's arguments: a later
  // occurrence on the command line wins.
  std::vector<char *> args(argv, argv + argc);
  static char default_min_time[] = "--benchmark_min_time=0.1";
  args.insert(args.begin() + 1, default_min_time);
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);  // argv[argc] == NULL, as for main's own argv
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
