// Thread churn and producer/consumer: memory must stay flat when thousands of
// short-lived threads come and go (their caches are returned, their slabs
// abandoned and adopted) and when one thread allocates what another frees
// (every free is a remote free). RSS (/proc/self/statm) and HAKMEM's own
// mapped bytes after the run must stay within a generous bound of what they
// were early in the run, and the thread count in hak_stats must come back.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/stress/stress_common.h"

namespace {

using namespace hkstress;

constexpr size_t kBound = 64 * kMiB;

std::atomic<bool> g_failed{false};

void Fail(const std::string &why) {
  if (!g_failed.exchange(true)) ADD_FAILURE() << why;
}

void *AllocStamped(size_t size) {
  void *p = T_MALLOC(size);
  if (p == nullptr) {
    Fail("allocation of " + std::to_string(size) + " bytes failed");
    return nullptr;
  }
  if (reinterpret_cast<uintptr_t>(p) % RequiredAlign(size) != 0) {
    char buf[120];
    snprintf(buf, sizeof(buf), "%p (size %zu) is misaligned", p, size);
    Fail(buf);
  }
  Stamp(p, size);
  return p;
}

void FreeChecked(void *p) {
  if (p == nullptr) return;
  size_t size;
  std::string why;
  if (!Verify(p, &size, &why)) {
    Fail(why);
    return;
  }
  T_FREE(p);
}

// RSS is only meaningful for HAKMEM when neither a sanitizer runtime
// (ASan's quarantine, TSan's shadow) nor QEMU (translation cache, per-thread
// state: +200 MiB over 800 threads) holds memory of its own. HAKMEM's own
// mapped bytes are checked everywhere.
bool CheckRss() { return !HAK_STRESS_SANITIZER && !UnderQemu(); }

// ---- thread churn --------------------------------------------------------------

constexpr unsigned kLanes = 4;     // threads alive at a time
constexpr unsigned kHandoff = 32;  // blocks a thread leaves to the next one of its lane
std::atomic<void *> g_handoff[kLanes][kHandoff];

void ChurnThread(unsigned index) {
  Rng r(index + 1);
  const unsigned lane = index % kLanes;
  // The previous thread of this lane is gone: its leftovers are freed here
  // (remote frees into its abandoned or already adopted slabs).
  for (auto &slot : g_handoff[lane]) FreeChecked(slot.exchange(nullptr));
  const unsigned n = 200 + static_cast<unsigned>(r.Below(200));
  std::vector<void *> mine;
  mine.reserve(n);
  for (unsigned i = 0; i < n && !g_failed.load(std::memory_order_relaxed); i++) {
    size_t size = PickSize(r);
    if (size > 64 * 1024 && r.Chance(50)) size = 8 + r.Below(2000);
    void *p = AllocStamped(size);
    if (p == nullptr) break;
    mine.push_back(p);
    if (mine.size() > 16 && r.Chance(30)) {
      size_t k = r.Below(mine.size());
      FreeChecked(mine[k]);
      mine[k] = mine.back();
      mine.pop_back();
    }
  }
  // Leave some for the next thread, free the rest in random order.
  for (unsigned k = 0; k < kHandoff && !mine.empty(); k++) {
    size_t i = r.Below(mine.size());
    g_handoff[lane][k].store(mine[i]);
    mine[i] = mine.back();
    mine.pop_back();
  }
  while (!mine.empty()) {
    size_t i = r.Below(mine.size());
    FreeChecked(mine[i]);
    mine[i] = mine.back();
    mine.pop_back();
  }
}

TEST(Churn, ThousandsOfShortLivedThreads) {
  const unsigned total = 5000 / Slowdown();
  const hak_stats_t base = Stats();
  size_t rss_early = 0;
  uint64_t mapped_early = 0;
  unsigned started = 0;
  while (started < total && !g_failed.load()) {
    std::vector<std::thread> wave;
    for (unsigned k = 0; k < kLanes && started < total; k++)
      wave.emplace_back(ChurnThread, started++);
    for (auto &t : wave) t.join();
    if (started == 100) {
      rss_early = RssBytes();
      mapped_early = Stats().os_mapped_bytes;
    }
  }
  ASSERT_FALSE(g_failed.load());
  const size_t rss_end = RssBytes();
  const hak_stats_t end = Stats();
  EXPECT_EQ(end.threads_live, base.threads_live) << "thread caches of exited threads still counted";
  EXPECT_LE(end.os_mapped_bytes, mapped_early + kBound)
      << "HAKMEM's mappings grew from " << mapped_early / kMiB << " MiB after 100 threads to "
      << end.os_mapped_bytes / kMiB << " MiB after " << total;
  if (CheckRss()) {
    EXPECT_LE(rss_end, rss_early + kBound)
        << "RSS grew from " << rss_early / kMiB << " MiB after 100 threads to " << rss_end / kMiB
        << " MiB after " << total;
  }
  for (auto &lane : g_handoff) {
    for (auto &slot : lane) FreeChecked(slot.exchange(nullptr));
  }
  hak_trim(0);
  const hak_stats_t trimmed = Stats();
  EXPECT_EQ(trimmed.large_live, base.large_live);
  EXPECT_LE(trimmed.slabs_active, base.slabs_active + 2 * 26);
  EXPECT_LE(hkt_stress_slabs_abandoned(), 4u);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  fprintf(stderr,
          "churn: %u threads; RSS %.1f -> %.1f MiB, mapped %.1f -> %.1f MiB; adopted %" PRIu64
          "; after trim slabs_active %" PRIu64 ", superslabs %" PRIu64 "\n",
          total, static_cast<double>(rss_early) / kMiB, static_cast<double>(rss_end) / kMiB,
          static_cast<double>(mapped_early) / kMiB, static_cast<double>(end.os_mapped_bytes) / kMiB,
          end.slabs_adopted - base.slabs_adopted, trimmed.slabs_active, trimmed.superslabs_live);
}

// ---- allocations after a thread's cache was returned ------------------------------

// A pthread key destructor that runs after HAKMEM's own thread-exit handler
// (it re-arms itself once, so its second call comes in the next destructor
// round): the thread's cache is gone by then, so its mallocs and frees take
// the shared late path. Some of its blocks are left for the main thread.
pthread_key_t g_late_key;
constexpr unsigned kLateKeep = 8;
std::atomic<void *> g_late_left[64][kLateKeep];

struct LateArg {
  unsigned index;
  bool rearmed;
};

void LateDestructor(void *arg) {
  auto *a = static_cast<LateArg *>(arg);
  if (!a->rearmed) {
    a->rearmed = true;
    pthread_setspecific(g_late_key, a);
    return;
  }
  Rng r(a->index + 99);
  void *held[32];
  for (void *&p : held) p = AllocStamped(PickSize(r) % 40000 + 8);
  for (unsigned k = 0; k < kLateKeep; k++) {
    void *old = g_late_left[a->index % 64][k].exchange(held[k]);
    FreeChecked(old);
  }
  for (unsigned k = kLateKeep; k < 32; k++) FreeChecked(held[k]);
  delete a;
}

TEST(Churn, AllocationsInDestructorsAfterTheThreadCacheIsGone) {
  ASSERT_EQ(pthread_key_create(&g_late_key, LateDestructor), 0);
  const unsigned total = 2000 / Slowdown();
  const hak_stats_t base = Stats();
  unsigned started = 0;
  while (started < total && !g_failed.load()) {
    std::vector<std::thread> wave;
    for (unsigned k = 0; k < kLanes && started < total; k++) {
      wave.emplace_back([index = started++] {
        // A normal life first: the thread gets a cache, uses it.
        void *p = AllocStamped(100);
        FreeChecked(p);
        pthread_setspecific(g_late_key, new LateArg{index, false});
      });
    }
    for (auto &t : wave) t.join();
    // The main thread frees some of the late blocks while other threads are
    // in their destructors, later waves replace the rest.
    for (auto &lane : g_late_left) FreeChecked(lane[started % kLateKeep].exchange(nullptr));
  }
  ASSERT_FALSE(g_failed.load());
  EXPECT_EQ(Stats().threads_live, base.threads_live);
  for (auto &lane : g_late_left) {
    for (auto &slot : lane) FreeChecked(slot.exchange(nullptr));
  }
  pthread_key_delete(g_late_key);
  hak_trim(0);
  const hak_stats_t end = Stats();
  EXPECT_EQ(end.large_live, base.large_live);
  EXPECT_LE(end.slabs_active, base.slabs_active + 3 * 26);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
}

// ---- producer / consumer -----------------------------------------------------------

// Single-producer single-consumer ring of blocks; nullptr = empty slot.
constexpr size_t kRing = 4096;
std::atomic<void *> g_ring[kRing];
void *const kEnd = reinterpret_cast<void *>(uintptr_t{1});

void Producer(uint64_t seed, unsigned count) {
  Rng r(seed);
  size_t at = 0;
  for (unsigned i = 0; i < count && !g_failed.load(std::memory_order_relaxed); i++) {
    size_t size = PickSize(r);
    if (size > 64 * 1024) size = 64 * 1024 + r.Below(64 * 1024);  // keep the ring's bytes bounded
    void *p = AllocStamped(size);
    if (p == nullptr) break;
    while (g_ring[at].load(std::memory_order_acquire) != nullptr) std::this_thread::yield();
    g_ring[at].store(p, std::memory_order_release);
    at = (at + 1) % kRing;
  }
  while (g_ring[at].load(std::memory_order_acquire) != nullptr) std::this_thread::yield();
  g_ring[at].store(kEnd, std::memory_order_release);
}

void Consumer() {
  size_t at = 0;
  for (;;) {
    void *p;
    while ((p = g_ring[at].load(std::memory_order_acquire)) == nullptr) std::this_thread::yield();
    g_ring[at].store(nullptr, std::memory_order_release);
    at = (at + 1) % kRing;
    if (p == kEnd) return;
    FreeChecked(p);
  }
}

TEST(Churn, ProducerConsumerRemoteFrees) {
  const unsigned rounds = 8;
  const unsigned per_round = 250000 / Slowdown();
  const hak_stats_t base = Stats();
  size_t rss_early = 0, rss_peak_late = 0;
  uint64_t mapped_early = 0, mapped_peak_late = 0;
  for (unsigned round = 0; round < rounds && !g_failed.load(); round++) {
    // New threads every round: the consumer's frees of the last blocks land
    // in slabs whose producer has exited; the next producer adopts them.
    std::thread consumer(Consumer);
    std::thread producer(Producer, uint64_t{round} + 100, per_round);
    producer.join();
    consumer.join();
    for (auto &slot : g_ring) ASSERT_EQ(slot.load(), nullptr);
    EXPECT_EQ(Stats().threads_live, base.threads_live) << "after round " << round;
    if (round == 0) {
      rss_early = RssBytes();
      mapped_early = Stats().os_mapped_bytes;
    } else {
      rss_peak_late = std::max(rss_peak_late, RssBytes());
      mapped_peak_late = std::max(mapped_peak_late, Stats().os_mapped_bytes);
    }
  }
  ASSERT_FALSE(g_failed.load());
  EXPECT_LE(mapped_peak_late, mapped_early + kBound)
      << "HAKMEM's mappings grew from " << mapped_early / kMiB << " MiB to "
      << mapped_peak_late / kMiB << " MiB: remote frees are not recycled";
  if (CheckRss()) {
    EXPECT_LE(rss_peak_late, rss_early + kBound)
        << "RSS grew from " << rss_early / kMiB << " MiB to " << rss_peak_late / kMiB << " MiB";
  }
  hak_trim(0);
  const hak_stats_t end = Stats();
  EXPECT_EQ(end.large_live, base.large_live);
  EXPECT_LE(end.slabs_active, base.slabs_active + 2 * 26);
  EXPECT_LE(hkt_stress_slabs_abandoned(), 4u);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  fprintf(
      stderr,
      "producer/consumer: %u rounds x %u blocks; RSS %.1f -> %.1f MiB, mapped %.1f -> %.1f MiB\n",
      rounds, per_round, static_cast<double>(rss_early) / kMiB,
      static_cast<double>(rss_peak_late) / kMiB, static_cast<double>(mapped_early) / kMiB,
      static_cast<double>(mapped_peak_late) / kMiB);
}

// Producer/consumer without thread exits: two long-lived threads trade
// blocks both ways, so each one's slabs fill with the other's remote frees.
TEST(Churn, TwoThreadsFreeEachOthersBlocks) {
  const unsigned steps = 400000 / Slowdown();
  constexpr size_t kSlots = 256;
  static std::atomic<void *> box[2][kSlots];  // box[i]: blocks thread i frees
  size_t rss_mid = 0;
  uint64_t mapped_mid = 0;
  auto body = [&](unsigned me) {
    Rng r(me + 7);
    for (unsigned i = 0; i < steps && !g_failed.load(std::memory_order_relaxed); i++) {
      size_t size = 8 + r.Below(r.Chance(90) ? 1024 : 16384);
      void *p = AllocStamped(size);
      if (p == nullptr) break;
      // Post it to the other thread's inbox; a block of ours it never
      // picked up comes back and is freed here (local free).
      FreeChecked(box[1 - me][r.Below(kSlots)].exchange(p));
      // Free one the other thread posted to us (remote free).
      FreeChecked(box[me][r.Below(kSlots)].exchange(nullptr));
      if (me == 0 && i == steps / 4) {
        rss_mid = RssBytes();
        mapped_mid = Stats().os_mapped_bytes;
      }
    }
  };
  std::thread a(body, 0u), b(body, 1u);
  a.join();
  b.join();
  ASSERT_FALSE(g_failed.load());
  const size_t rss_end = RssBytes();
  const uint64_t mapped_end = Stats().os_mapped_bytes;
  EXPECT_LE(mapped_end, mapped_mid + kBound);
  if (CheckRss()) {
    EXPECT_LE(rss_end, rss_mid + kBound);
  }
  for (auto &side : box) {
    for (auto &slot : side) FreeChecked(slot.exchange(nullptr));
  }
  hak_trim(0);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
}

}  // namespace
