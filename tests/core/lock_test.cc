// Tests of hk_lock_t (hakmem/core/lock.h) through the C shim lock_support.c:
// zero-initialised locks need no init, mutual exclusion under contention
// (also checked by TSan under --config=tsan: the lock's acquire/release must
// order the plain counter accesses), the futex slow path and its wake-up,
// trylock, hk_lock_reset after fork(), and errno kept across the futex calls.
#include "tests/core/lock_support.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace {

// Static locks handed out to the tests (each test uses its own index).
enum : unsigned {
  kLockBeforeMain = 0,
  kLockZeroStatic,
  kLockMutex,
  kLockTry,
  kLockContended,
  kLockManyWaiters,
  kLockReset,
  kLockResetFork,
};

// Runs during static initialisation, before main(): a static hk_lock_t works
// without any initialiser having run (the way the allocator uses it while the
// dynamic loader is still starting up).
struct BeforeMain {
  uint32_t state_before = 99, state_locked = 99, state_after = 99;
  BeforeMain() {
    hk_test_lock *l = hk_test_static_lock(kLockBeforeMain);
    state_before = hk_test_lock_state(l);
    hk_test_lock_acquire(l);
    state_locked = hk_test_lock_state(l);
    hk_test_lock_release(l);
    state_after = hk_test_lock_state(l);
  }
};
const BeforeMain g_before_main;

void WaitForState(hk_test_lock *l, uint32_t want) {
  // No time limit on purpose (no timing assertions): if the state is never
  // reached the test hangs and Bazel's timeout reports it.
  while (hk_test_lock_state(l) != want) sched_yield();
}

TEST(Lock, InitIsAllZero) { EXPECT_TRUE(hk_test_lock_init_is_zero()); }

TEST(Lock, UsableBeforeMainWithoutInit) {
  EXPECT_EQ(g_before_main.state_before, 0u);
  EXPECT_EQ(g_before_main.state_locked, 1u);
  EXPECT_EQ(g_before_main.state_after, 0u);
}

TEST(Lock, ZeroInitialisedStaticWorksWithoutInit) {
  hk_test_lock *l = hk_test_static_lock(kLockZeroStatic);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(hk_test_static_lock(HK_TEST_STATIC_LOCKS), nullptr);
  EXPECT_EQ(hk_test_lock_state(l), 0u);
  for (int i = 0; i < 3; i++) {
    hk_test_lock_acquire(l);
    EXPECT_EQ(hk_test_lock_state(l), 1u);  // uncontended: plain "locked"
    hk_test_lock_release(l);
    EXPECT_EQ(hk_test_lock_state(l), 0u);
  }
}

TEST(Lock, ZeroFilledHeapStorageWorksWithoutInit) {
  const size_t size = hk_test_lock_size();
  const size_t align = hk_test_lock_align();
  ASSERT_GE(size, sizeof(uint32_t));
  ASSERT_GE(align, alignof(uint32_t));
  void *mem = std::aligned_alloc(align, (size + align - 1) / align * align);
  ASSERT_NE(mem, nullptr);
  std::memset(mem, 0, size);
  hk_test_lock *l = hk_test_lock_from_storage(mem);
  hk_test_lock_acquire(l);
  EXPECT_FALSE(hk_test_lock_try(l));
  hk_test_lock_release(l);
  EXPECT_TRUE(hk_test_lock_try(l));
  hk_test_lock_release(l);
  EXPECT_EQ(hk_test_lock_state(l), 0u);
  std::free(mem);
}

TEST(Lock, TrylockSemantics) {
  hk_test_lock *l = hk_test_static_lock(kLockTry);
  ASSERT_EQ(hk_test_lock_state(l), 0u);
  EXPECT_TRUE(hk_test_lock_try(l));    // free -> taken
  EXPECT_EQ(hk_test_lock_state(l), 1u);
  EXPECT_FALSE(hk_test_lock_try(l));   // not recursive
  EXPECT_EQ(hk_test_lock_state(l), 1u);  // a failed trylock changes nothing

  // Another thread cannot take it either, with trylock.
  bool other_got_it = true;
  std::thread([&] { other_got_it = hk_test_lock_try(l); }).join();
  EXPECT_FALSE(other_got_it);
  EXPECT_EQ(hk_test_lock_state(l), 1u);

  hk_test_lock_release(l);
  EXPECT_EQ(hk_test_lock_state(l), 0u);

  // ... and once released, another thread can, and we cannot.
  std::thread([&] { other_got_it = hk_test_lock_try(l); }).join();
  EXPECT_TRUE(other_got_it);
  EXPECT_FALSE(hk_test_lock_try(l));
  hk_test_lock_release(l);  // a lock may be released by another thread
  EXPECT_TRUE(hk_test_lock_try(l));
  hk_test_lock_release(l);
  EXPECT_EQ(hk_test_lock_state(l), 0u);
}

// The protected counter: volatile so that every increment is a real load and
// store (a broken lock loses updates), deliberately not atomic.
volatile long g_counter = 0;

TEST(Lock, MutualExclusionUnderContention) {
  constexpr int kThreads = 4;
  constexpr long kIters = 100000;
  hk_test_lock *l = hk_test_static_lock(kLockMutex);
  g_counter = 0;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) sched_yield();  // start together
      for (long i = 0; i < kIters; i++) {
        // Odd threads also go through trylock, so both entry paths are mixed.
        if ((t & 1) == 0 || !hk_test_lock_try(l)) hk_test_lock_acquire(l);
        g_counter = g_counter + 1;
        hk_test_lock_release(l);
      }
    });
  }
  for (auto &th : threads) th.join();
  EXPECT_EQ(g_counter, kThreads * kIters);
  EXPECT_EQ(hk_test_lock_state(l), 0u);
}

// Deterministic walk through the slow path: a waiter that cannot get the lock
// marks it contended (state 2) and sleeps; the unlock sees 2 and wakes it.
TEST(Lock, ContendedWaiterIsWokenOnUnlock) {
  hk_test_lock *l = hk_test_static_lock(kLockContended);
  hk_test_lock_acquire(l);
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    hk_test_lock_acquire(l);
    acquired.store(true);
    hk_test_lock_release(l);
  });
  WaitForState(l, 2u);  // the waiter gave up spinning and marked it contended
  EXPECT_FALSE(acquired.load()) << "waiter got the lock while it was held";
  hk_test_lock_release(l);
  waiter.join();  // hangs (Bazel timeout) if the wake-up was lost
  EXPECT_TRUE(acquired.load());
  EXPECT_EQ(hk_test_lock_state(l), 0u);
}

// Several sleepers: each unlock wakes one, and each woken waiter keeps the
// lock marked contended so the next unlock wakes the next one (no lost wake).
TEST(Lock, ManyWaitersAllGetTheLock) {
  constexpr int kWaiters = 4;
  hk_test_lock *l = hk_test_static_lock(kLockManyWaiters);
  hk_test_lock_acquire(l);
  std::atomic<int> inside{0}, done{0};
  int max_inside = 0;  // written under the lock only
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; i++) {
    threads.emplace_back([&] {
      hk_test_lock_acquire(l);
      int now = inside.fetch_add(1) + 1;
      if (now > max_inside) max_inside = now;
      sched_yield();
      inside.fetch_sub(1);
      done.fetch_add(1);
      hk_test_lock_release(l);
    });
  }
  WaitForState(l, 2u);
  EXPECT_EQ(done.load(), 0);
  hk_test_lock_release(l);
  for (auto &th : threads) th.join();
  EXPECT_EQ(done.load(), kWaiters);
  EXPECT_EQ(max_inside, 1);
  EXPECT_EQ(hk_test_lock_state(l), 0u);
}

void NoopHandler(int) {}

// free() must not change errno, and every lock on its paths may sleep in a
// futex: a wait interrupted by a signal (EINTR) or raced by an unlock
// (EAGAIN), and the wake-up on unlock, must leave errno as it was.
TEST(Lock, ContendedPathsKeepErrno) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = NoopHandler;  // no SA_RESTART: the futex wait returns EINTR
  sigemptyset(&sa.sa_mask);
  struct sigaction old;
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  alignas(64) static unsigned char storage[256];
  ASSERT_LE(hk_test_lock_size(), sizeof(storage));
  hk_test_lock *l = hk_test_lock_from_storage(storage);
  hk_test_lock_acquire(l);
  std::atomic<int> waiter_errno{-1};
  std::atomic<bool> started{false};
  std::thread t([&] {
    errno = 1234;
    started = true;
    hk_test_lock_acquire(l);
    waiter_errno = errno;
    hk_test_lock_release(l);
  });
  while (!started) sched_yield();
  // The waiter marks the lock contended just before it sleeps in the futex
  // (bounded wait: at least 60 s, for a machine loaded far beyond its cores).
  for (int i = 0; i < 60000 && hk_test_lock_state(l) != 2u; i++) usleep(1000);
  ASSERT_EQ(hk_test_lock_state(l), 2u);
  for (int i = 0; i < 5; i++) {
    usleep(2000);
    pthread_kill(t.native_handle(), SIGUSR1);
  }
  usleep(2000);
  errno = 5678;
  hk_test_lock_release(l);  // wakes the waiter (futex wake)
  EXPECT_EQ(errno, 5678) << "unlock changed errno";
  t.join();
  EXPECT_EQ(waiter_errno.load(), 1234) << "a contended lock changed errno";
  sigaction(SIGUSR1, &old, nullptr);
}

TEST(Lock, ResetReleasesALockHeldByAThreadThatIsGone) {
  hk_test_lock *l = hk_test_static_lock(kLockReset);
  std::thread([&] { hk_test_lock_acquire(l); }).join();  // exits holding it
  EXPECT_EQ(hk_test_lock_state(l), 1u);
  EXPECT_FALSE(hk_test_lock_try(l));
  hk_test_lock_reset(l);
  EXPECT_EQ(hk_test_lock_state(l), 0u);
  EXPECT_TRUE(hk_test_lock_try(l));
  hk_test_lock_release(l);

  // A contended lock (state 2) resets to unlocked too.
  hk_test_lock_acquire(l);
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    hk_test_lock_acquire(l);
    acquired.store(true);
    hk_test_lock_release(l);
  });
  WaitForState(l, 2u);
  hk_test_lock_release(l);  // wakes the waiter
  waiter.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_EQ(hk_test_lock_state(l), 0u);
}

// The documented use: in the child of fork(), a lock held by a parent thread
// (which does not exist in the child) is reset and then works normally.
TEST(Lock, ResetInForkChild) {
  hk_test_lock *l = hk_test_static_lock(kLockResetFork);
  std::atomic<bool> held{false}, release{false};
  std::thread holder([&] {
    hk_test_lock_acquire(l);
    held.store(true);
    while (!release.load()) sched_yield();
    hk_test_lock_release(l);
  });
  while (!held.load()) sched_yield();

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: only async-signal-safe calls, then _exit with a step number.
    if (hk_test_lock_state(l) != 1u) _exit(10);
    if (hk_test_lock_try(l)) _exit(11);
    hk_test_lock_reset(l);
    if (hk_test_lock_state(l) != 0u) _exit(12);
    hk_test_lock_acquire(l);
    if (hk_test_lock_state(l) != 1u) _exit(13);
    hk_test_lock_release(l);
    if (!hk_test_lock_try(l)) _exit(14);
    hk_test_lock_release(l);
    _exit(hk_test_lock_state(l) == 0u ? 0 : 15);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child failed at step " << WEXITSTATUS(status);

  // The parent's lock was not affected by the child.
  EXPECT_EQ(hk_test_lock_state(l), 1u);
  release.store(true);
  holder.join();
  EXPECT_EQ(hk_test_lock_state(l), 0u);
}

}  // namespace
