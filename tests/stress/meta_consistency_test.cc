// SAFE consistency: the slab and SuperSlab counters of C7 on the TinyHeap
// route agree exactly with the blocks the program holds, after a long
// multi-threaded run (the seeds' "delta debug" check: zero drift). Built on
// the hak_* API only (stress.bzl flavour "hak"), so the only blocks in HAKMEM
// are the test's own, all of C7 (513..1024 bytes, half of them exactly 1024).
//
// Workers allocate and free stamped blocks, swap blocks through a shared
// mailbox (the taker frees them: remote frees), and exit while holding
// blocks, which go to an orphan pool that later threads free (remote frees
// into abandoned and adopted pages). Two long-lived workers run throughout,
// three short-lived ones per phase. The main thread holds K blocks from the
// start to the end and never allocates again.
//
// In the middle of each phase every worker stops at a checkpoint:
//   A. stopped, deltas not flushed: the census's exact count of C7 (used +
//      pending delta) equals the blocks the test tracks plus the blocks
//      waiting in remote queues (still counted as in use by their pages);
//      under meta mode PER_OP the SuperSlab counters have no drift at all;
//   B. after every thread's hak_trim(0) (which flushes its TinyHeap deltas):
//      the SuperSlab counters (live_blocks) equal the slabs' exact counts,
//      per SuperSlab (mismatched_superslabs) and in total, and
//      hak_stats_get().small_live_blocks says the same.
// At the end (every worker joined, the main thread's hak_trim(0)): C7 in use
// == K exactly, nothing pending, no drift, hk_seg_check clean; after freeing
// the K blocks, nothing in use.
// Meta mode ULTRA keeps no SuperSlab counters (counters_maintained == 0):
// its variant skips the counter checks and still runs the workload, the
// cookies and hk_seg_check's list and free-list checks.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/stress/stress_common.h"

#if HAK_STRESS_MALLOC
#error "meta_consistency_test counts blocks: build it on the hak_* API only (flavour hak)"
#endif

namespace {

using namespace hkstress;

constexpr unsigned kC7 = 7;
constexpr size_t kMailbox = 256;
constexpr size_t kHeldMax = 256;

std::atomic<void *> g_mailbox[kMailbox];
std::atomic<bool> g_failed{false};
std::mutex g_orphans_mu;
std::vector<void *> g_orphans;  // blocks of exited threads, freed by others

void Fail(const std::string &why) {
  if (!g_failed.exchange(true)) ADD_FAILURE() << why;
}

size_t PickC7Size(Rng &r) { return r.Chance(50) ? 1024 : 513 + r.Below(512); }

void *AllocC7(Rng &r) {
  const size_t size = PickC7Size(r);
  void *p = hak_malloc(size);
  if (p == nullptr) {
    Fail("hak_malloc(" + std::to_string(size) + ") failed");
    return nullptr;
  }
  if (reinterpret_cast<uintptr_t>(p) % 1024 != 0) {
    char buf[120];
    snprintf(buf, sizeof(buf), "C7 block %p (size %zu) is not 1024-aligned", p, size);
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
    return;  // not ours any more: leave it alone
  }
  hak_free(p);
}

// ---- checkpoints ----------------------------------------------------------------
// The main thread raises g_request; each worker sees it at the top of its
// loop (holding no block outside its own list), arrives, waits for the main
// thread's go, and arrives a second time after its hak_trim(0).
std::atomic<uint64_t> g_request{0};
std::mutex g_ck_mu;
std::condition_variable g_ck_cv;
unsigned g_arrived = 0;
uint64_t g_held_sum = 0;
uint64_t g_generation = 0;

void Arrive(size_t held) {
  std::unique_lock<std::mutex> lk(g_ck_mu);
  g_arrived++;
  g_held_sum += held;
  const uint64_t gen = g_generation;
  g_ck_cv.notify_all();
  g_ck_cv.wait(lk, [&] { return g_generation != gen; });
}

// Main thread: waits until n workers arrived; returns the blocks they hold.
uint64_t WaitArrivals(unsigned n) {
  std::unique_lock<std::mutex> lk(g_ck_mu);
  g_ck_cv.wait(lk, [&] { return g_arrived == n; });
  return g_held_sum;
}

// Main thread: lets the arrived workers go on.
void Go() {
  std::lock_guard<std::mutex> lk(g_ck_mu);
  g_arrived = 0;
  g_held_sum = 0;
  g_generation++;
  g_ck_cv.notify_all();
}

// ---- workers ----------------------------------------------------------------------

struct Worker {
  unsigned id = 0;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> loops{0};
  std::thread thread;
};

void WorkerBody(Worker *w) {
  Rng r(uint64_t{w->id} * 7919u + 3);
  std::vector<void *> held;
  held.reserve(kHeldMax);
  uint64_t seen = g_request.load();
  auto drop = [&](size_t i) {
    held[i] = held.back();
    held.pop_back();
  };
  while (!w->stop.load(std::memory_order_acquire)) {
    const uint64_t req = g_request.load(std::memory_order_acquire);
    if (req != seen) {
      seen = req;
      Arrive(held.size());  // A: stopped, deltas as they are
      hak_trim(0);          // flushes this thread's TinyHeap deltas
      Arrive(held.size());  // B
    }
    w->loops.fetch_add(1, std::memory_order_relaxed);
    if (g_failed.load(std::memory_order_relaxed)) {
      std::this_thread::yield();
      continue;
    }
    const uint64_t op = r.Below(100);
    if (held.empty() || (op < 45 && held.size() < kHeldMax)) {
      void *p = AllocC7(r);
      if (p != nullptr) held.push_back(p);
    } else if (op < 75) {
      // Free a random held block: local, or remote if it came from another
      // thread through the mailbox or the orphans.
      const size_t i = r.Below(held.size());
      FreeChecked(held[i]);
      drop(i);
    } else if (op < 93) {
      // Swap with the mailbox: whoever takes it frees it (remote free).
      const size_t i = r.Below(held.size());
      void *q = g_mailbox[r.Below(kMailbox)].exchange(held[i]);
      if (q != nullptr) held[i] = q;
      else drop(i);
    } else {
      // Free a few blocks of exited threads.
      void *take[8];
      size_t n = 0;
      {
        std::lock_guard<std::mutex> lk(g_orphans_mu);
        while (n < 8 && !g_orphans.empty()) {
          take[n++] = g_orphans.back();
          g_orphans.pop_back();
        }
      }
      for (size_t k = 0; k < n; k++) FreeChecked(take[k]);
    }
  }
  // Exit holding blocks: a third freed here, the rest left to other threads.
  std::vector<void *> leave;
  for (size_t i = 0; i < held.size(); i++) {
    if (i % 3 == 0) FreeChecked(held[i]);
    else leave.push_back(held[i]);
  }
  std::lock_guard<std::mutex> lk(g_orphans_mu);
  g_orphans.insert(g_orphans.end(), leave.begin(), leave.end());
}

// ---- the main thread's side ----------------------------------------------------------

hak_front_stats_t FrontStats() {
  hak_front_stats_t f;
  memset(&f, 0, sizeof(f));
  f.size = sizeof(f);
  hak_front_stats_get(&f);
  return f;
}

hkt_stress_census_t Census() {
  hkt_stress_census_t c;
  hkt_stress_census(&c);
  return c;
}

uint64_t MailboxBlocks() {
  uint64_t n = 0;
  for (auto &slot : g_mailbox) n += slot.load() != nullptr;
  return n;
}

uint64_t OrphanBlocks() {
  std::lock_guard<std::mutex> lk(g_orphans_mu);
  return g_orphans.size();
}

void WaitLoops(const std::vector<Worker *> &ws, uint64_t more) {
  std::vector<uint64_t> from;
  for (Worker *w : ws) from.push_back(w->loops.load());
  for (size_t i = 0; i < ws.size(); i++) {
    while (ws[i]->loops.load() < from[i] + more) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

struct Totals {
  unsigned checkpoints = 0;
  uint64_t max_tracked = 0;
  uint64_t max_remote = 0;
  int64_t max_drift_before_flush = 0;  // |used_total - live_blocks| at A
  uint64_t max_c7_used = 0;
};

// Checks of one census against the blocks the test tracks; `flushed`: every
// thread's TinyHeap deltas were flushed since the last operation.
void CheckCensus(const char *when, const hkt_stress_census_t &c, uint64_t tracked, bool maintained,
                 unsigned meta_mode, bool flushed, Totals *t) {
  SCOPED_TRACE(when);
  const uint64_t remote = c.remote_pending[kC7];
  t->max_remote = std::max(t->max_remote, remote);
  t->max_c7_used = std::max(t->max_c7_used, c.used[kC7]);
  EXPECT_EQ(c.counters_maintained, maintained ? 1u : 0u);
  if (maintained || flushed) {
    // The slabs' exact counts: with ULTRA only right after every page was
    // recounted (hak_trim's sync).
    EXPECT_EQ(c.used[kC7], tracked + remote)
        << "C7 blocks counted in use != blocks the test holds (" << tracked
        << ") + blocks in remote queues (" << remote << ")";
    EXPECT_EQ(c.used_total, c.used[kC7]) << "blocks of other classes counted in use";
  }
  if (!maintained) return;
  const int64_t drift = static_cast<int64_t>(c.used_total) - static_cast<int64_t>(c.live_blocks);
  if (!flushed) t->max_drift_before_flush = std::max(t->max_drift_before_flush, drift < 0 ? -drift : drift);
  if (flushed || meta_mode == 0) {
    EXPECT_EQ(c.live_blocks, c.used_total)
        << "SuperSlab live_blocks drift from the slabs' counts (meta mode " << meta_mode << ")";
    EXPECT_EQ(c.mismatched_superslabs, 0u);
    EXPECT_EQ(Stats().small_live_blocks, c.live_blocks) << "hak_stats_get().small_live_blocks";
  }
}

TEST(MetaConsistency, C7CountersMatchTheBlocksHeldAcrossThreads) {
  hak_free(hak_malloc(1024));  // initialise HAKMEM
  const hak_front_stats_t fs = FrontStats();
  ASSERT_EQ(fs.cls[kC7].route, HAK_ROUTE_HEAP) << "this test is for C7 on the TinyHeap route";
  const unsigned meta_mode = fs.cls[kC7].meta_mode;
  const bool maintained = fs.counters_maintained != 0;
  EXPECT_EQ(maintained, meta_mode != 2) << "meta mode " << meta_mode;
  hak_trim(0);
  const hak_stats_t base = Stats();
  {
    const hkt_stress_census_t c0 = Census();
    ASSERT_EQ(c0.used[kC7], 0u) << "C7 blocks in use before the test allocated any";
  }

  const unsigned slow = Slowdown();
  const unsigned kLong = 2, kShort = 3;
  const unsigned phases = HAK_STRESS_SANITIZER || UnderQemu() ? 4 : 8;
  const uint64_t half_phase = 60000 / slow;  // loops of every worker before / after a checkpoint
  const size_t K = 640;                      // ten pages of C7

  Rng main_rng(12345);
  std::vector<void *> mine;
  for (size_t i = 0; i < K; i++) {
    void *p = AllocC7(main_rng);
    ASSERT_NE(p, nullptr);
    mine.push_back(p);
  }

  Totals totals;
  std::vector<std::unique_ptr<Worker>> all;
  unsigned next_id = 0;
  auto start = [&]() {
    all.emplace_back(new Worker);
    Worker *w = all.back().get();
    w->id = next_id++;
    w->thread = std::thread(WorkerBody, w);
    return w;
  };
  std::vector<Worker *> long_lived;
  for (unsigned i = 0; i < kLong; i++) long_lived.push_back(start());

  for (unsigned phase = 0; phase < phases && !g_failed.load(); phase++) {
    std::vector<Worker *> live = long_lived, short_lived;
    for (unsigned i = 0; i < kShort; i++) {
      short_lived.push_back(start());
      live.push_back(short_lived.back());
    }
    WaitLoops(live, half_phase);

    // ---- checkpoint ----
    g_request.fetch_add(1);
    const uint64_t held_a = WaitArrivals(static_cast<unsigned>(live.size()));
    const uint64_t tracked_a = K + held_a + MailboxBlocks() + OrphanBlocks();
    CheckCensus("checkpoint A (workers stopped, deltas not flushed)", Census(), tracked_a, maintained,
                meta_mode, false, &totals);
    Go();
    const uint64_t held_b = WaitArrivals(static_cast<unsigned>(live.size()));
    EXPECT_EQ(held_b, held_a);
    hak_trim(0);  // the main thread's deltas (and abandoned pages' remote queues)
    const hkt_stress_census_t cb = Census();
    CheckCensus("checkpoint B (every thread trimmed)", cb, tracked_a, maintained, meta_mode, true,
                &totals);
    totals.checkpoints++;
    totals.max_tracked = std::max(totals.max_tracked, tracked_a);
    if (phase == 0 || phase + 1 == phases) {
      fprintf(stderr,
              "meta_consistency: checkpoint %u: %zu threads, blocks tracked %" PRIu64
              " (main %zu, workers %" PRIu64 ", mailbox+orphans %" PRIu64 "), C7 in use %" PRIu64
              ", remote pending %" PRIu64 ", live_blocks %" PRIu64 "\n",
              phase, live.size(), tracked_a, K, held_a, tracked_a - K - held_a, cb.used[kC7],
              cb.remote_pending[kC7], cb.live_blocks);
    }
    Go();

    WaitLoops(live, half_phase);
    // The short-lived workers exit holding blocks (orphans for the others).
    for (Worker *w : short_lived) w->stop.store(true, std::memory_order_release);
    for (Worker *w : short_lived) w->thread.join();
  }
  for (Worker *w : long_lived) w->stop.store(true, std::memory_order_release);
  for (Worker *w : long_lived) w->thread.join();
  ASSERT_FALSE(g_failed.load());
  EXPECT_EQ(Stats().threads_live, base.threads_live);

  // Every worker is gone: the main thread frees what is left in flight
  // (remote frees into abandoned pages), keeping its K blocks.
  for (auto &slot : g_mailbox) FreeChecked(slot.exchange(nullptr));
  {
    std::lock_guard<std::mutex> lk(g_orphans_mu);
    for (void *p : g_orphans) FreeChecked(p);
    g_orphans.clear();
  }
  ASSERT_FALSE(g_failed.load());
  const hkt_stress_census_t before_trim = Census();
  hak_trim(0);
  const hkt_stress_census_t end = Census();
  CheckCensus("end (joined, main trimmed)", end, K, maintained, meta_mode, true, &totals);
  if (maintained) {
    EXPECT_EQ(end.used[kC7], K) << "C7 blocks in use != the K blocks the main thread holds";
    EXPECT_EQ(end.remote_pending[kC7], 0u);
  }
  EXPECT_EQ(hkt_stress_seg_check(), 0);
  for (void *p : mine) {
    size_t size;
    std::string why;
    EXPECT_TRUE(Verify(p, &size, &why)) << why;
  }

  // And back to nothing.
  for (void *p : mine) FreeChecked(p);
  hak_trim(0);
  const hkt_stress_census_t empty = Census();
  if (maintained) {
    EXPECT_EQ(empty.used_total, 0u);
    EXPECT_EQ(empty.live_blocks, 0u);
    EXPECT_EQ(Stats().small_live_blocks, 0u);
  }
  EXPECT_EQ(hkt_stress_seg_check(), 0);

  fprintf(stderr,
          "meta_consistency: C7 meta mode %u (counters maintained %d): %u checkpoints, %zu threads; "
          "blocks tracked up to %" PRIu64 ", remote pending up to %" PRIu64
          ", drift before flush up to %s; end: C7 in use %" PRIu64 " (K %zu), live_blocks %" PRIu64
          " (before the main thread's trim: used %" PRIu64 ", live_blocks %" PRIu64 ", remote %" PRIu64
          "); after freeing K: used %" PRIu64 ", live_blocks %" PRIu64 "\n",
          meta_mode, maintained ? 1 : 0, totals.checkpoints, all.size(), totals.max_tracked,
          totals.max_remote,
          maintained ? std::to_string(totals.max_drift_before_flush).c_str() : "n/a (not kept)",
          end.used[kC7], K, end.live_blocks,
          before_trim.used_total, before_trim.live_blocks, before_trim.remote_pending[kC7],
          empty.used_total, empty.live_blocks);
}

}  // namespace
