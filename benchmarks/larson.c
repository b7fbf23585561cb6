/* benchmarks/larson.c — the Larson–Krishnan server simulation (P.-A. Larson
 * and M. Krishnan, "Memory allocation for long-running server applications",
 * ISMM 1998), written here from its published description: threads that
 * allocate and free blocks of random sizes, each living for a while and then
 * handing its blocks to a newly created thread, so that blocks are freed by
 * threads that did not allocate them, as in a server whose requests outlive
 * the threads that started them.
 *
 * --threads lanes (default 2) each own an array of --ws ("chunks per
 * thread", default 5000) slots. The worker's main thread fills every lane's
 * array before the run (not timed) with blocks of random sizes in [--min,
 * --max] (default 8..1000 B), so even the first frees are cross-thread. A
 * lane's thread repeatedly draws one 64-bit random number (splitmix64,
 * bench_rand): its low 32 bits pick a slot, its high 32 bits a size in [min,
 * max]; it frees the slot's block, allocates one of the new size, writes its
 * first and last bytes, and puts it in the slot. That is one replacement.
 *
 * A thread's life is --rounds rounds (default 100) of --ws replacements each
 * (the original program's lifetime of rounds x chunks blocks). At the end of
 * its life the thread creates the lane's next thread with pthread_create,
 * handing it the array (its live blocks) and the random stream, and exits;
 * the new thread first joins the one that created it, then carries on with
 * the array. Of a new thread's frees about --ws are of blocks allocated by
 * other threads (1/rounds of its life). No sleeps, no yields, no spinning:
 * the only waits are pthread_join of the finished predecessor and, for the
 * worker thread that started the lane, a condition variable until the
 * lane's last thread is done.
 *
 * The run is timed (driver.h): it ends after --seconds (default 1), when the
 * lane's current thread notices the stop flag (checked every 64
 * replacements), or, with --iters=N, after N replacements per lane,
 * whichever comes first; --iters alone gives a run of exactly N per lane
 * (the regression gate and callgrind use that). Thread creation and exit are
 * part of the measured time, as in the original.
 *
 * One op = one replacement = exactly one free() + one malloc() (+ two
 * one-byte stores); ops/s = the replacements of all lanes / the elapsed
 * seconds from the start barrier to the end barrier. The metric "handoffs"
 * counts the threads created by hand-offs (all lanes).
 *
 * Flags: the common ones (--threads, --min, --max, --ws = chunks per thread,
 * --seed, --seconds, --iters, --runs, --allocator, --profile, --json, ...),
 * --rounds=N, and the customary positional order
 *   larson SECONDS MIN MAX CHUNKS ROUNDS SEED THREADS
 * e.g. `bazel run -c opt //benchmarks:larson -- 2 8 1000 5000 100 4141 4`.
 * (This replaces a lock-step ring of arrays passed between long-lived
 * threads with sched_yield waits, whose numbers mostly measured waiting.) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "benchmarks/driver.h"

#define LARSON_CHECK_EVERY 64 /* replacements between two looks at the stop flag */
#define LARSON_ROUNDS 0       /* index of --rounds in opts.param */

/* One lane: an array of blocks and the chain of threads working on it. Only
 * one thread of the chain runs at a time; the hand-off (pthread_create,
 * pthread_join) orders their accesses. */
typedef struct larson_lane {
  _Alignas(64) unsigned char **slots; /* ws blocks */
  uint64_t x;                         /* the random stream, carried from thread to thread */
  uint64_t done;                      /* replacements by all of the lane's threads */
  uint64_t handoffs;                  /* threads created by hand-offs */
  uint64_t cap;                       /* --iters, or UINT64_MAX */
  uint64_t life;                      /* replacements per thread: rounds x ws */
  uint32_t ws, min, span;
  const atomic_bool *stop;
  pthread_t prev; /* the thread that created this one (joined first) */
  bool join_prev; /* prev is a lane thread, not the worker's own */
  /* The lane's end, for the worker thread that started it. */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool finished;
  bool last_spawned; /* the last thread is a lane thread (to be joined) */
  pthread_t last;
} larson_lane_t;

typedef struct larson_shared {
  larson_lane_t *lanes;
  size_t n;
} larson_shared_t;

static void larson_write(unsigned char *p, size_t size, uint64_t r) {
  p[0] = (unsigned char)r;
  p[size - 1] = (unsigned char)(r >> 8);
}

static void *larson_init(const bench_opts_t *o) {
  larson_shared_t *sh = malloc(sizeof(*sh));
  if (sh == NULL) bench_die("out of memory");
  sh->n = (size_t)o->threads;
  sh->lanes = aligned_alloc(64, sh->n * sizeof(larson_lane_t));
  if (sh->lanes == NULL) bench_die("out of memory for %zu lanes", sh->n);
  const uint32_t min = (uint32_t)o->min, span = (uint32_t)(o->max - o->min + 1);
  for (size_t i = 0; i < sh->n; i++) {
    larson_lane_t *l = &sh->lanes[i];
    memset(l, 0, sizeof(*l));
    l->ws = (uint32_t)o->ws;
    l->min = min;
    l->span = span;
    l->cap = o->iters ? o->iters : UINT64_MAX;
    l->life = o->param[LARSON_ROUNDS] * o->ws;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    /* Filled here by the worker's main thread, which frees none of them
     * during the run: a stream of its own per lane. */
    l->slots = malloc(o->ws * sizeof(*l->slots));
    if (l->slots == NULL) bench_die("out of memory for %llu slots", (unsigned long long)o->ws);
    uint64_t x = ~(o->seed + (uint64_t)i * 0x9e3779b97f4a7c15ull);
    for (uint64_t k = 0; k < o->ws; k++) {
      uint64_t r = bench_rand(&x);
      size_t size = (size_t)min + bench_below((uint32_t)(r >> 32), span);
      unsigned char *p = malloc(size);
      if (p == NULL) bench_die("malloc(%zu) failed while filling the arrays", size);
      larson_write(p, size, r);
      l->slots[k] = p;
    }
  }
  return sh;
}

static void larson_fini(void *shared) {
  larson_shared_t *sh = shared;
  uint64_t handoffs = 0;
  for (size_t i = 0; i < sh->n; i++) {
    larson_lane_t *l = &sh->lanes[i];
    handoffs += l->handoffs;
    for (uint32_t k = 0; k < l->ws; k++) free(l->slots[k]);
    free(l->slots);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
  }
  bench_metric("handoffs", (double)handoffs);
  free(sh->lanes);
  free(sh);
}

static void *larson_thread(void *arg);

/* One thread's life on lane l (spawned: a thread created by a hand-off, not
 * the worker thread). Returns true when it handed the lane to a new thread,
 * false when the lane is done (time up or --iters reached). */
static bool larson_life(larson_lane_t *l, bool spawned) {
  if (l->join_prev) {
    int err = pthread_join(l->prev, NULL);
    if (err != 0) bench_die("pthread_join: %s", strerror(err));
  }
  unsigned char **slots = l->slots;
  const uint32_t ws = l->ws, min = l->min, span = l->span;
  uint64_t x = l->x;
  uint64_t want = l->cap - l->done;
  if (want > l->life) want = l->life;
  uint64_t i = 0;
  bool stopped = false;
  while (i < want && !stopped) {
    uint64_t end = want - i < LARSON_CHECK_EVERY ? want : i + LARSON_CHECK_EVERY;
    for (; i < end; i++) {
      uint64_t r = bench_rand(&x);
      uint32_t slot = bench_below((uint32_t)r, ws);
      size_t size = (size_t)min + bench_below((uint32_t)(r >> 32), span);
      free(slots[slot]);
      unsigned char *p = malloc(size);
      if (__builtin_expect(p == NULL, 0)) bench_die("malloc(%zu) failed", size);
      larson_write(p, size, r);
      slots[slot] = p;
    }
    stopped = atomic_load_explicit(l->stop, memory_order_relaxed);
  }
  l->x = x;
  l->done += i;
  if (!stopped && l->done < l->cap) {
    /* End of this thread's life: a new thread takes over the array. After
     * pthread_create the lane is the new thread's: no more accesses here. */
    l->prev = pthread_self();
    l->join_prev = spawned; /* the worker thread is not joined: it waits for the lane's end */
    l->handoffs++;
    pthread_t next;
    int err = pthread_create(&next, NULL, larson_thread, l);
    if (err != 0) bench_die("pthread_create (hand-off %llu): %s", (unsigned long long)l->handoffs, strerror(err));
    return true;
  }
  pthread_mutex_lock(&l->mu);
  l->finished = true;
  l->last_spawned = spawned;
  l->last = pthread_self();
  pthread_cond_signal(&l->cv);
  pthread_mutex_unlock(&l->mu);
  return false;
}

static void *larson_thread(void *arg) {
  larson_life(arg, true);
  return NULL;
}

static void larson_setup(bench_thread_t *t) {
  larson_shared_t *sh = t->shared;
  larson_lane_t *l = &sh->lanes[t->index];
  l->x = t->seed;
  l->stop = t->stop;
  t->state = l;
}

/* The worker thread of lane t->index: the lane's first thread, then (after
 * the first hand-off) it waits for the lane's last thread and joins it. */
static void larson_run(bench_thread_t *t) {
  larson_lane_t *l = t->state;
  if (larson_life(l, false)) {
    pthread_mutex_lock(&l->mu);
    while (!l->finished) pthread_cond_wait(&l->cv, &l->mu);
    bool join = l->last_spawned;
    pthread_t last = l->last;
    pthread_mutex_unlock(&l->mu);
    if (join) {
      int err = pthread_join(last, NULL);
      if (err != 0) bench_die("pthread_join: %s", strerror(err));
    }
  }
  t->ops = l->done;
}

static void larson_teardown(bench_thread_t *t) { t->state = NULL; /* the blocks: larson_fini */ }

static const bench_workload_t k_larson = {
    .name = "larson",
    .summary = "larson: the Larson-Krishnan server simulation. Each of --threads lanes owns --ws (chunks) blocks of "
               "random sizes in [min, max]; its thread frees and reallocates random slots for --rounds x --ws "
               "replacements, then hands the array (live blocks) to a newly created thread and exits, so blocks "
               "are freed by threads that did not allocate them. Runs --seconds (or --iters per lane).",
    .op = "one replacement: free() of a random slot's block (allocated by this thread or an earlier one) + "
          "malloc() of a random size in [min, max] (first and last byte written); ops summed over the lanes, "
          "thread creation and exit included in the time",
    .defaults =
        {
            .iters = 0,
            .duration_ns = 1000000000ull,
            .ws = 5000,
            .threads = 2,
            .seed = 1,
            .min = 8,
            .max = 1000,
        },
    .init = larson_init,
    .setup = larson_setup,
    .run = larson_run,
    .teardown = larson_teardown,
    .fini = larson_fini,
    .timed = true,
    .ws_help = "blocks per lane (\"chunks per thread\")",
    .params = {{"rounds", "rounds of --ws replacements in a thread's life", 100, 1, (uint64_t)1 << 30}},
    .positional = {"seconds", "min", "max", "ws", "rounds", "seed", "threads"},
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_larson); }
