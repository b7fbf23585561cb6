// Multi-threaded stress in the style of mimalloc's test-stress: every round,
// N threads allocate blocks of random sizes (mostly tiny and mid, some large,
// rarely above 1 MiB), stamp a cookie over the whole block and verify it when
// the block is freed or reallocated; two thirds of the steps free a random
// earlier block, a quarter swap a block through a shared array of 1000 atomic
// slots (so blocks are freed by other threads, also after their allocating
// thread exited). Threads are torn down and recreated every round; half of
// the shared slots survive into the next round. At the end everything is
// freed and the allocator's numbers must come back: no live thread caches,
// no large allocation, a bounded number of slabs after hak_trim, and a
// consistent pool (hk_seg_check).
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/stress/stress_common.h"

namespace {

using namespace hkstress;

constexpr size_t kTransfers = 1000;
std::atomic<void *> g_transfer[kTransfers];
std::atomic<bool> g_failed{false};
std::atomic<uint64_t> g_ops{0};

void Fail(const std::string &why) {
  if (!g_failed.exchange(true)) ADD_FAILURE() << why;
}

struct Params {
  unsigned threads;
  unsigned rounds;
  unsigned steps;      // per thread and round (threads vary around it)
  unsigned local_max;  // blocks a thread holds at most in its own array
  unsigned retain;     // blocks a thread keeps until it ends
};

Params GetParams() {
  Params p;
#if defined(__aarch64__)
  p.threads = 4;
#else
  p.threads = 8;
#endif
  p.rounds = HAK_STRESS_TSAN ? 10 : 20;
  p.steps = 8000 / Slowdown();
  p.local_max = 1000;
  p.retain = 200;
  return p;
}

void *AllocStamped(Rng &r) {
  size_t size = PickSize(r);
  void *p = nullptr;
  uint64_t how = r.Below(100);
  size_t align = 0;
  if (how < 8) {
    p = T_CALLOC(1, size);
    if (p != nullptr) {
      auto *b = static_cast<const unsigned char *>(p);
      for (size_t i = 0; i < size; i++) {
        if (b[i] != 0) {
          char buf[160];
          snprintf(buf, sizeof(buf), "calloc(1, %zu) = %p: byte %zu is 0x%02x, not zero", size, p,
                   i, b[i]);
          Fail(buf);
          return nullptr;
        }
      }
    }
  } else if (how < 10) {
    align = size_t{16} << r.Below(9);  // 16 .. 4096
    if (T_POSIX_MEMALIGN(&p, align, size) != 0) p = nullptr;
  } else {
    p = T_MALLOC(size);
  }
  char buf[160];
  if (p == nullptr) {
    snprintf(buf, sizeof(buf), "allocation of %zu bytes failed", size);
    Fail(buf);
    return nullptr;
  }
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (a % RequiredAlign(size) != 0 || (align != 0 && a % align != 0)) {
    snprintf(buf, sizeof(buf), "%p (size %zu, requested alignment %zu) is misaligned", p, size,
             align);
    Fail(buf);
  }
  if (r.Below(64) == 0 && T_USABLE(p) < size) {
    snprintf(buf, sizeof(buf), "usable size of %p is %zu < %zu", p,
             static_cast<size_t>(T_USABLE(p)), size);
    Fail(buf);
  }
  Stamp(p, size);
  g_ops.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void FreeChecked(void *p) {
  if (p == nullptr) return;
  size_t size;
  std::string why;
  if (!Verify(p, &size, &why)) {
    Fail(why);  // leave the block alone: it is not what we think it is
    return;
  }
  T_FREE(p);
}

void *ReallocChecked(void *p, Rng &r) {
  size_t old_size;
  std::string why;
  if (!Verify(p, &old_size, &why)) {
    Fail(why);
    return nullptr;
  }
  size_t size = PickSize(r);
  const uintptr_t old_addr = reinterpret_cast<uintptr_t>(p);
  void *q = T_REALLOC(p, size);
  char buf[200];
  if (q == nullptr) {
    snprintf(buf, sizeof(buf), "realloc(%#" PRIxPTR ", %zu) failed", old_addr, size);
    Fail(buf);
    return nullptr;
  }
  long bad = CheckAs(q, old_addr, old_size, std::min(old_size, size));
  if (bad >= 0) {
    snprintf(buf, sizeof(buf),
             "realloc(%#" PRIxPTR ", %zu -> %zu) = %p lost the contents at offset %ld", old_addr,
             old_size, size, q, bad);
    Fail(buf);
    return nullptr;
  }
  if (reinterpret_cast<uintptr_t>(q) % RequiredAlign(size) != 0) {
    snprintf(buf, sizeof(buf), "realloc result %p (size %zu) is misaligned", q, size);
    Fail(buf);
  }
  Stamp(q, size);
  return q;
}

void Worker(unsigned tid, unsigned round, const Params &P) {
  Rng r(uint64_t{tid} * 1000003u + round * 7919u + 1);
  std::vector<void *> data;
  data.reserve(P.local_max);
  std::vector<void *> retained;
  retained.reserve(P.retain);
  unsigned retain = P.retain;
  // Threads differ in how much they do, so some outlive others.
  const unsigned steps = P.steps / 2 + P.steps * (tid % 4) / 3;
  for (unsigned step = 0; step < steps && !g_failed.load(std::memory_order_relaxed); step++) {
    // One thread now and then gives memory back while the others allocate.
    if (tid == 0 && step % 2000 == 1999) hak_trim(0);
    if (retain > 0 && r.Chance(25)) {
      void *p = AllocStamped(r);
      if (p != nullptr) retained.push_back(p);
      retain--;
    } else if (data.size() < P.local_max) {
      void *p = AllocStamped(r);
      if (p != nullptr) data.push_back(p);
    } else {
      size_t i = r.Below(data.size());
      FreeChecked(data[i]);
      data[i] = AllocStamped(r);
      if (data[i] == nullptr) {
        data[i] = data.back();
        data.pop_back();
      }
    }
    if (!data.empty() && r.Chance(66)) {
      // Free (or now and then reallocate) a random earlier block.
      size_t i = r.Below(data.size());
      if (r.Chance(10)) {
        data[i] = ReallocChecked(data[i], r);
      } else {
        FreeChecked(data[i]);
        data[i] = nullptr;
      }
      if (data[i] == nullptr) {
        data[i] = data.back();
        data.pop_back();
      }
    }
    if (!data.empty() && r.Chance(25)) {
      // Swap a block with the shared array: another thread (now or in a
      // later round) frees it.
      size_t i = r.Below(data.size());
      void *q = g_transfer[r.Below(kTransfers)].exchange(data[i]);
      if (q != nullptr) {
        data[i] = q;
      } else {
        data[i] = data.back();
        data.pop_back();
      }
    }
  }
  for (void *p : retained) FreeChecked(p);
  for (void *p : data) FreeChecked(p);
}

TEST(Stress, ThreadsAllocateFreeAndSwapAcrossRounds) {
  const Params P = GetParams();
  hak_trim(0);
  const hak_stats_t base = Stats();
  Rng main_rng(42);
  for (unsigned round = 0; round < P.rounds && !g_failed.load(); round++) {
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < P.threads; t++) threads.emplace_back(Worker, t, round, std::cref(P));
    for (auto &t : threads) t.join();
    // Every worker ran its thread-exit path before join returned. The main
    // thread may have a record of its own by now: it frees the workers'
    // blocks, and a thread freeing into another thread's slab gets one (its
    // remote-free batch lives there).
    EXPECT_LE(Stats().threads_live, base.threads_live + 1) << "after round " << round;
    // Half of the shared blocks survive into the next round (none after the
    // last one); the main thread frees the others (remote frees into slabs
    // of exited threads).
    const bool last = round + 1 == P.rounds;
    for (auto &slot : g_transfer) {
      if (last || main_rng.Chance(50)) FreeChecked(slot.exchange(nullptr));
    }
  }
  if (g_failed.load()) return;
  for (auto &slot : g_transfer) FreeChecked(slot.exchange(nullptr));

  hak_trim(0);
  const hak_stats_t end = Stats();
  EXPECT_LE(end.threads_live, base.threads_live + 1);
  EXPECT_EQ(end.large_live, base.large_live) << "large allocations leaked";
  EXPECT_EQ(end.large_live_bytes, base.large_live_bytes);
  // Exited threads' slabs must have come back once all their blocks did:
  // only the main thread's (and the late cache's) current slabs may remain.
  EXPECT_LE(end.slabs_active, base.slabs_active + 2 * 26)
      << "slabs of exited threads were not reclaimed";
  EXPECT_LE(hkt_stress_slabs_abandoned(), 4u) << "abandoned slabs with every block back";
  EXPECT_LE(end.superslabs_live, base.superslabs_live + 4);
  EXPECT_GT(end.slabs_adopted, base.slabs_adopted) << "no slab of an exited thread was adopted";
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  fprintf(stderr,
          "stress: %u rounds x %u threads, %" PRIu64 " allocations; slabs_active %" PRIu64
          " -> %" PRIu64 ", superslabs %" PRIu64 " -> %" PRIu64 ", adopted %" PRIu64
          ", abandoned left %" PRIu64 ", mapped %.1f MiB\n",
          P.rounds, P.threads, g_ops.load(), base.slabs_active, end.slabs_active,
          base.superslabs_live, end.superslabs_live, end.slabs_adopted - base.slabs_adopted,
          hkt_stress_slabs_abandoned(), static_cast<double>(end.os_mapped_bytes) / kMiB);
}

}  // namespace
