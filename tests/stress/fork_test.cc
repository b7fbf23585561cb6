// fork() in a multi-threaded program: the parent's threads keep allocating
// and freeing (so the allocator's locks and caches are in use at the moment
// of the fork) while the main thread forks repeatedly. Each child verifies
// blocks inherited from the parent, frees them (their owners do not exist in
// the child), allocates and frees across every size range with cookies, and
// exits with _exit(0); the parent checks the exit status. Variants: the
// child starts threads that allocate, and the child forks again. Last, forks
// while threads are exiting: the child must not release an exited thread's
// slab a second time (a bug this test found in the segment box's
// class_release; see ChildOfExitingThreads).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <string>
#include <thread>
#include <vector>

#include "tests/stress/stress_common.h"

namespace {

using namespace hkstress;

std::atomic<bool> g_failed{false};

void Fail(const std::string &why) {
  if (!g_failed.exchange(true)) ADD_FAILURE() << why;
}

// Child exit codes.
// A child's work takes well under a second natively; on a loaded 2-core
// machine (load average 20-30) and under QEMU it stretches by 10-50x. The
// alarm only turns a hang into a named failure: it must not fire on a slow
// but live child, and must fire before Bazel's timeout (medium: 300 s).
constexpr unsigned kChildAlarmSeconds = 150;

enum : int { kChildOk = 0, kChildCorrupt = 3, kChildNoMemory = 4, kChildBad = 5, kChildThread = 6 };

// In the child: report on stderr (captured in the test log) and give the
// code back. No gtest, no C++ containers (the child must not depend on
// anything but the allocator under test).
int ChildError(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fork child %d: ", static_cast<int>(getpid()));
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

// ---- parent state visible to the children -------------------------------------

constexpr size_t kPre = 48;   // blocks the main thread allocated before forking
constexpr size_t kXfer = 64;  // blocks in flight between the busy threads
void *g_pre[kPre];
std::atomic<void *> g_xfer[kXfer];
std::atomic<bool> g_stop{false};
// While a child runs, the busy threads idle so that the child gets the CPU;
// before the next fork the parent waits until each has done some work again.
std::atomic<bool> g_pause{false};
std::atomic<uint64_t> g_busy_ops[3];

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

void BusyThread(unsigned id) {
  Rng r(id + 1000);
  void *ring[32] = {};
  size_t at = 0;
  while (!g_stop.load(std::memory_order_relaxed) && !g_failed.load(std::memory_order_relaxed)) {
    if (g_pause.load(std::memory_order_relaxed)) {
      usleep(1000);
      continue;
    }
    g_busy_ops[id].fetch_add(1, std::memory_order_relaxed);
    size_t size = PickSize(r);
    void *p = T_MALLOC(size);
    if (p == nullptr) {
      Fail("busy thread: allocation failed");
      break;
    }
    Stamp(p, size);
    if (r.Chance(20)) p = g_xfer[r.Below(kXfer)].exchange(p);
    FreeChecked(ring[at]);
    ring[at] = p;
    at = (at + 1) % 32;
  }
  for (void *p : ring) FreeChecked(p);
}

// ---- child work ----------------------------------------------------------------------

// Allocates/frees across every size range, with cookies, calloc and realloc.
int ChildAllocWork(uint64_t seed, unsigned ops) {
  Rng r(seed);
  void *live[64] = {};
  for (unsigned i = 0; i < ops; i++) {
    unsigned k = static_cast<unsigned>(r.Below(64));
    if (live[k] != nullptr) {
      size_t size;
      std::string why;
      if (!Verify(live[k], &size, &why)) return ChildError(kChildCorrupt, "%s", why.c_str());
      T_FREE(live[k]);
      live[k] = nullptr;
    }
    // Every range; large spans and own mappings less often (page faults).
    const unsigned range = i % 100 == 0 ? 5 : i % 20 == 0 ? 4 : i % 4;
    size_t size = SizeOfRange(range, r);
    void *p = (i % 7 == 0) ? T_CALLOC(1, size) : T_MALLOC(size);
    if (p == nullptr) return ChildError(kChildNoMemory, "allocation of %zu bytes failed", size);
    if (reinterpret_cast<uintptr_t>(p) % RequiredAlign(size) != 0) {
      return ChildError(kChildBad, "%p (size %zu) is misaligned", p, size);
    }
    if (i % 7 == 0) {
      const unsigned char *b = static_cast<const unsigned char *>(p);
      for (size_t j = 0; j < size; j++) {
        if (b[j] != 0)
          return ChildError(kChildBad, "calloc(1, %zu) = %p: byte %zu not zero", size, p, j);
      }
    }
    Stamp(p, size);
    live[k] = p;
  }
  // realloc through every range, keeping the contents.
  size_t size = 16;
  void *p = T_MALLOC(size);
  if (p == nullptr) return ChildError(kChildNoMemory, "malloc(16) failed");
  Stamp(p, size);
  for (size_t next :
       {size_t{200}, size_t{3000}, size_t{30000}, size_t{300000}, size_t{3000000}, size_t{100}}) {
    uintptr_t old = reinterpret_cast<uintptr_t>(p);
    void *q = T_REALLOC(p, next);
    if (q == nullptr) return ChildError(kChildNoMemory, "realloc to %zu failed", next);
    long bad = CheckAs(q, old, size, size < next ? size : next);
    if (bad >= 0) {
      return ChildError(kChildCorrupt, "realloc(%#" PRIxPTR ", %zu -> %zu) = %p lost byte %ld", old,
                        size, next, q, bad);
    }
    Stamp(q, next);
    p = q;
    size = next;
  }
  T_FREE(p);
  for (void *q : live) {
    if (q == nullptr) continue;
    size_t sz;
    std::string why;
    if (!Verify(q, &sz, &why)) return ChildError(kChildCorrupt, "%s", why.c_str());
    T_FREE(q);
  }
  return kChildOk;
}

// What every child does with the parent's blocks: verify them all, free them
// (the busy threads that own most of them do not exist here).
int ChildInherited() {
  for (void *p : g_pre) {
    size_t size;
    std::string why;
    if (!Verify(p, &size, &why)) return ChildError(kChildCorrupt, "inherited: %s", why.c_str());
    T_FREE(p);
  }
  for (auto &slot : g_xfer) {
    void *p = slot.exchange(nullptr);
    if (p == nullptr) continue;
    size_t size;
    std::string why;
    if (!Verify(p, &size, &why)) return ChildError(kChildCorrupt, "in flight: %s", why.c_str());
    T_FREE(p);
  }
  return kChildOk;
}

struct ThreadArg {
  uint64_t seed;
  unsigned ops;
  int result;
};

void *ChildThreadMain(void *arg) {
  auto *a = static_cast<ThreadArg *>(arg);
  a->result = ChildAllocWork(a->seed, a->ops);
  return nullptr;
}

enum class ChildMode { kPlain, kThread, kFork };

// Child body; returns the exit code.
int ChildMain(ChildMode mode, uint64_t seed, unsigned ops) {
  alarm(kChildAlarmSeconds);  // a deadlock after fork ends as SIGALRM, not as a hung test
  int rc = ChildInherited();
  if (rc != kChildOk) return rc;
  rc = ChildAllocWork(seed, ops);
  if (rc != kChildOk) return rc;
  if (mode == ChildMode::kThread) {
    // Threads of the child: its allocator must hand out fresh thread caches
    // (the parent's thread records are gone) and take them back at exit.
    pthread_t th[2];
    ThreadArg args[2] = {{seed * 3 + 1, ops, -1}, {seed * 3 + 2, ops, -1}};
    for (int i = 0; i < 2; i++) {
      if (pthread_create(&th[i], nullptr, ChildThreadMain, &args[i]) != 0) {
        return ChildError(kChildThread, "pthread_create failed");
      }
    }
    rc = ChildAllocWork(seed * 3, ops);  // concurrently in the child's main thread
    for (int i = 0; i < 2; i++) pthread_join(th[i], nullptr);
    if (rc != kChildOk) return rc;
    for (const ThreadArg &a : args) {
      if (a.result != kChildOk) return a.result;
    }
    hak_stats_t st = Stats();
    if (st.threads_live > 1) {
      return ChildError(kChildBad, "threads_live = %" PRIu64 " after the child's threads exited",
                        st.threads_live);
    }
  } else if (mode == ChildMode::kFork) {
    pid_t pid = fork();
    if (pid < 0) return ChildError(kChildBad, "nested fork failed");
    if (pid == 0) _exit(ChildAllocWork(seed * 5, ops));
    rc = ChildAllocWork(seed * 7, ops);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return ChildError(kChildBad, "waitpid failed");
    if (rc != kChildOk) return rc;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return ChildError(kChildBad, "grandchild failed (status 0x%x)", status);
    }
  }
  hak_trim(0);
  return kChildOk;
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "status " + std::to_string(status);
}

void RunForks(ChildMode mode, unsigned forks, unsigned ops) {
  // The main thread's blocks across all size ranges, inherited by the children.
  Rng r(mode == ChildMode::kPlain ? 1 : mode == ChildMode::kThread ? 2 : 3);
  const hak_stats_t base0 = Stats();
  for (size_t i = 0; i < kPre; i++) {
    size_t size = SizeOfRange(static_cast<unsigned>(i), r);
    g_pre[i] = T_MALLOC(size);
    ASSERT_NE(g_pre[i], nullptr);
    Stamp(g_pre[i], size);
  }
  const hak_stats_t base = Stats();
  g_stop = false;
  std::vector<std::thread> busy;
  for (unsigned i = 0; i < 3; i++) busy.emplace_back(BusyThread, i);
  // In a lambda: a failed ASSERT still stops and joins the busy threads.
  auto fork_loop = [&] {
    for (unsigned f = 0; f < forks && !g_failed.load(); f++) {
      // Fork while all three threads are in the middle of their work.
      uint64_t seen[3];
      for (unsigned i = 0; i < 3; i++) seen[i] = g_busy_ops[i].load();
      g_pause = false;
      for (unsigned i = 0; i < 3; i++) {
        while (g_busy_ops[i].load() < seen[i] + 200 && !g_failed.load()) std::this_thread::yield();
      }
      fflush(stderr);
      pid_t pid = fork();
      ASSERT_GE(pid, 0) << "fork failed";
      if (pid == 0) _exit(ChildMain(mode, uint64_t{f} * 131 + 17, ops));
      g_pause = true;
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "child " << f << ": " << DescribeStatus(status) << " (see its message above)";
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) break;
      // The parent's own blocks are untouched by what the child did.
      if (f % 8 == 0) {
        for (void *p : g_pre) {
          size_t size;
          std::string why;
          ASSERT_TRUE(Verify(p, &size, &why)) << why;
        }
      }
    }
  };
  fork_loop();
  g_stop = true;
  g_pause = false;
  for (auto &t : busy) t.join();
  for (auto &slot : g_xfer) FreeChecked(slot.exchange(nullptr));
  for (void *&p : g_pre) {
    FreeChecked(p);
    p = nullptr;
  }
  EXPECT_FALSE(g_failed.load());
  const hak_stats_t end = Stats();
  EXPECT_EQ(end.threads_live, base.threads_live) << "busy threads' caches still counted";
  EXPECT_EQ(end.large_live, base0.large_live) << "large allocations leaked in the parent";
  hak_trim(0);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
}

#if defined(__aarch64__)
constexpr unsigned kForksFull = 8;
#else
constexpr unsigned kForksFull = HAK_STRESS_SANITIZER ? 12 : 24;
#endif
// At least 2, so that kForks / 2 still forks.
const unsigned kForks = std::max(2u, kForksFull / EnvDivisor());
const unsigned kOps = 2000 / Slowdown();

TEST(Fork, ChildOfBusyThreadsAllocatesEverySize) { RunForks(ChildMode::kPlain, kForks, kOps); }

TEST(Fork, ChildStartsThreadsThatAllocate) {
#if HAK_STRESS_TSAN
  // TSan refuses threads started after a multi-threaded fork ("starting new
  // threads after multi-threaded fork is not supported"; with
  // die_after_fork=0 it fails with "dup thread with used id" and exit 66):
  // a limitation of the sanitizer, so this case runs in the other builds.
  GTEST_SKIP() << "TSan cannot follow threads created after a multi-threaded fork";
#endif
  // qemu-user aborts in the child ("qemu_plugin_vcpu_init_hook: assertion
  // failed", "cpu == current_cpu") when it starts a thread there.
  if (UnderQemu()) GTEST_SKIP() << "qemu-user cannot start threads after a multi-threaded fork";
  RunForks(ChildMode::kThread, kForks / 2, kOps);
}

TEST(Fork, ChildForksAgain) { RunForks(ChildMode::kFork, kForks / 2, kOps); }

// ---- fork while threads exit ------------------------------------------------------

// Short-lived threads that end with live blocks in many slabs, so that their
// exit path abandons slab after slab (one pool-lock round each) while
// fork_prepare takes the pool lock: forks land in the middle of exits. Mostly
// 32 KiB blocks (two per slab: many slabs for little work), some 1 KiB ones.
// A kept block carries a 64-byte cookie at its start (Stamp(p, 64)): enough
// to see it handed out again.
constexpr unsigned kExitBigSlabs = 48;  // 32 KiB blocks, 2 per slab
constexpr unsigned kExitTiny = 256;     // 1 KiB blocks, 64 per slab
constexpr size_t kExitKeep = 256;
std::atomic<void *> g_exit_keep[kExitKeep];

void KeepOrFree(Rng &r, void *p, bool keep) {
  if (keep) {
    Stamp(p, 64);
    FreeChecked(g_exit_keep[r.Below(kExitKeep)].exchange(p));
  } else {
    T_FREE(p);
  }
}

void ExitingThread(uint64_t seed) {
  Rng r(seed);
  static thread_local void *big[2 * kExitBigSlabs];
  static thread_local void *tiny[kExitTiny];
  for (auto &p : big) p = T_MALLOC(32768);
  for (auto &p : tiny) p = T_MALLOC(1000);
  for (void *p : big) {
    if (p == nullptr) return Fail("exiting thread: allocation failed");
  }
  for (void *p : tiny) {
    if (p == nullptr) return Fail("exiting thread: allocation failed");
  }
  // About one live block per slab outlives the thread.
  for (unsigned i = 0; i < 2 * kExitBigSlabs; i++) KeepOrFree(r, big[i], i % 2 == 0);
  for (unsigned i = 0; i < kExitTiny; i++) KeepOrFree(r, tiny[i], i % 64 == 0);
}

// hk_seg_check in the child, counting only structural problems: list links,
// a slab on a list that does not match its state, SuperSlab counts. A dead
// thread caught in the middle of a refill leaves its chain of blocks neither
// free nor counted ("N free + M used != K carved"): a tolerated, bounded
// leak, not counted here. The SuperSlab live-block counters must be exact:
// hk_seg_fork_child recounts them (a dead thread may have been caught between
// its update of a slab's `used` and of the counter). The walk's report lines
// (stderr) are read back through a pipe and echoed.
int ChildStructuralCheck(const char *when) {
  int fds[2];
  if (pipe(fds) != 0) return ChildError(kChildBad, "pipe failed");
  fflush(stderr);
  int saved = dup(2);
  dup2(fds[1], 2);
  hkt_stress_seg_check();
  dup2(saved, 2);
  close(saved);
  close(fds[1]);
  static char buf[1 << 16];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0) {
    len += static_cast<size_t>(n);
  }
  close(fds[0]);
  buf[len] = '\0';
  int structural = 0;
  for (char *line = buf; *line != '\0';) {
    char *end = strchr(line, '\n');
    if (end != nullptr) *end = '\0';
    if (*line != '\0') {
      const bool count_only =
          strstr(line, " carved") != nullptr && strstr(line, " free + ") != nullptr;
      if (!count_only) structural++;
      fprintf(stderr, "fork child %d (%s): %s%s\n", static_cast<int>(getpid()), when, line,
              count_only ? " [tolerated]" : "");
    }
    if (end == nullptr) break;
    line = end + 1;
  }
  if (structural != 0) {
    return ChildError(kChildBad, "hk_seg_check %s: %d structural problems", when, structural);
  }
  return kChildOk;
}

int ChildOfExitingThreads(uint64_t seed) {
  alarm(kChildAlarmSeconds);  // a corrupted (cyclic) slab list shows up as a hang
  int rc = ChildStructuralCheck("right after fork");
  if (rc != kChildOk) return rc;
  // Allocate enough blocks of both classes to adopt their abandoned slabs,
  // and check that no block is handed out twice (cookies).
  Rng r(seed);
  constexpr unsigned kN = 4096;
  static void *held[kN];
  for (unsigned i = 0; i < kN; i++) {
    const size_t size = i % 4 == 0 ? 32768 : 1000;
    held[i] = T_MALLOC(size);
    if (held[i] == nullptr) return ChildError(kChildNoMemory, "malloc(%zu) failed", size);
    Stamp(held[i], size == 32768 ? 64 : size);
  }
  for (void *p : held) {
    size_t size;
    std::string why;
    if (!Verify(p, &size, &why)) return ChildError(kChildCorrupt, "%s", why.c_str());
    T_FREE(p);
  }
  for (auto &slot : g_exit_keep) {
    void *p = slot.exchange(nullptr);
    if (p == nullptr) continue;
    size_t size;
    std::string why;
    if (!Verify(p, &size, &why)) return ChildError(kChildCorrupt, "kept block: %s", why.c_str());
    T_FREE(p);
  }
  hak_trim(0);
  rc = ChildStructuralCheck("after adoption and trim");
  if (rc != kChildOk) return rc;
  hak_stats_t st = Stats();
  if (st.slabs_active > (uint64_t{1} << 32)) {
    return ChildError(kChildBad, "slabs_active underflowed: %" PRIu64, st.slabs_active);
  }
  return kChildOk;
}

TEST(Fork, ChildOfExitingThreads) {
  // Before the fix in the segment box's class_release (an exiting thread's
  // current slab released a second time in the child: cyclic abandoned
  // list, broken links, blocks handed out twice) this failed within the
  // first ~20 forks on x86-64 (SIGALRM in the child: a cyclic list).
  const unsigned forks = (UnderQemu() ? 40 : HAK_STRESS_SANITIZER ? 150 : 400) / EnvDivisor();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> exits{0};
  auto spawner = [&](uint64_t base) {
    for (uint64_t i = 0; !stop.load() && !g_failed.load(); i++) {
      std::thread t(ExitingThread, base + i);
      t.join();
      exits++;
    }
  };
  std::thread s1(spawner, 1), s2(spawner, 1u << 30);
  // In a lambda: a failed ASSERT still stops and joins the spawners.
  auto fork_loop = [&] {
    for (unsigned f = 0; f < forks && !g_failed.load(); f++) {
      // Let a few threads come and go between forks.
      const uint64_t seen = exits.load();
      while (exits.load() < seen + 2 && !g_failed.load()) std::this_thread::yield();
      fflush(stderr);
      pid_t pid = fork();
      ASSERT_GE(pid, 0) << "fork failed";
      if (pid == 0) _exit(ChildOfExitingThreads(f + 1));
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "fork " << f << ": child " << DescribeStatus(status) << " (see its message above)";
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) break;
    }
  };
  fork_loop();
  stop = true;
  s1.join();
  s2.join();
  for (auto &slot : g_exit_keep) FreeChecked(slot.exchange(nullptr));
  EXPECT_FALSE(g_failed.load());
  hak_trim(0);
  EXPECT_EQ(hkt_stress_seg_check(), 0);
}

}  // namespace
