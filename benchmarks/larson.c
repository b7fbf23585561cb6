/* benchmarks/larson.c — the "Larson" workload: the classic multi-threaded
 * server simulation (Larson & Krishnan), where blocks are freed by a
 * different thread than the one that allocated them.
 *
 * Each of --threads threads (default 2) holds an array of --ws slots
 * (default 1000), filled in setup (not timed). Each measured iteration draws
 * one 64-bit random number (splitmix64, the thread's seed derived from
 * --seed): its low 32 bits pick a slot of the array the thread holds, its high
 * 32 bits a size in [--min, --max] (default 16..1024 B); the slot's block is
 * freed, a block of the new size is allocated, its first byte written, and it
 * goes into the slot (the fill and the iteration are replace.h's, as in
 * mixed.c).
 *
 * Rounds: after every --ws iterations the thread hands the array it holds to
 * the next thread in a ring (thread i -> thread i+1 mod threads) and carries
 * on with the array handed to it by thread i-1. The blocks in an adopted
 * array were allocated by other threads, so many of a round's frees are
 * cross-thread frees (up to 1 - 1/e = 63% of them with round length = ws:
 * the share of slots a round hits), as in the original benchmark, where a
 * thread hands its array to a freshly created successor thread after a fixed
 * number of rounds. The hand-off is a one-array mailbox per thread (a release
 * store, an acquire load): a thread may run at most one round ahead of its
 * neighbours and otherwise waits (spinning, then sched_yield()); that waiting
 * is part of the measured time, as a slow thread is in any multi-threaded
 * run. (A non-blocking exchange through one shared slot was tried and
 * rejected: when the threads do not run at the same moment, e.g. on a busy
 * 2-core machine, a thread mostly gets back its own array, and the share of
 * cross-thread hand-offs varied from 0.1% to 75% between runs.) If --iters is
 * not a multiple of --ws the last partial round has no hand-off; with
 * --iters < --ws or --threads=1 nothing crosses threads.
 *
 * One op = one iteration of one thread = exactly one free() + one malloc()
 * (+ a one-byte store); ops/s = the sum of all threads' iterations / the
 * elapsed seconds from the start barrier to the stop barrier (driver.h).
 * Teardown (not timed) frees the blocks of the array each thread holds. */
#define _POSIX_C_SOURCE 200809L /* sched_yield */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "benchmarks/driver.h"
#include "benchmarks/replace.h"

#define LARSON_LINE 64

/* One thread's mailbox, on its own cache line: NULL or the array handed to
 * this thread by the previous one in the ring. */
typedef struct larson_box {
  _Alignas(LARSON_LINE) _Atomic(unsigned char **) arr;
} larson_box_t;

typedef struct larson_shared {
  larson_box_t *box; /* [threads] */
  unsigned n;
} larson_shared_t;

typedef struct larson_state {
  unsigned char **slots; /* the array this thread holds now */
} larson_state_t;

static void *larson_init(const bench_opts_t *o) {
  larson_shared_t *sh = malloc(sizeof(*sh));
  if (sh == NULL) bench_die("out of memory");
  sh->n = (unsigned)o->threads;
  sh->box = aligned_alloc(LARSON_LINE, sh->n * sizeof(larson_box_t));
  if (sh->box == NULL) bench_die("out of memory for %u mailboxes", sh->n);
  for (unsigned i = 0; i < sh->n; i++) atomic_init(&sh->box[i].arr, NULL);
  return sh;
}

static void larson_fini(void *shared) {
  larson_shared_t *sh = shared;
  /* Every hand-off was taken: each thread makes as many as the others. */
  for (unsigned i = 0; i < sh->n; i++) {
    if (atomic_load(&sh->box[i].arr) != NULL) bench_die("mailbox %u still holds an array after the run", i);
  }
  free(sh->box);
  free(sh);
}

static void larson_setup(bench_thread_t *t) {
  larson_state_t *s = malloc(sizeof(*s));
  if (s == NULL) bench_die("out of memory");
  /* A separate stream, so the measured sequence depends only on the seed. */
  s->slots = replace_fill(t->opts, ~t->seed);
  t->state = s;
}

static inline void larson_wait(unsigned *spins) {
  if (++*spins > 64) {
    sched_yield();
  } else {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
  }
}

/* Gives `mine` to the next thread in the ring, returns the array the
 * previous one gave to this thread. */
static unsigned char **larson_handoff(larson_shared_t *sh, unsigned index, unsigned char **mine) {
  larson_box_t *next = &sh->box[index + 1 == sh->n ? 0 : index + 1];
  larson_box_t *own = &sh->box[index];
  unsigned spins = 0;
  /* The next thread has taken what this one gave it last round. */
  while (atomic_load_explicit(&next->arr, memory_order_acquire) != NULL) larson_wait(&spins);
  atomic_store_explicit(&next->arr, mine, memory_order_release);
  unsigned char **got;
  spins = 0;
  while ((got = atomic_load_explicit(&own->arr, memory_order_acquire)) == NULL) larson_wait(&spins);
  atomic_store_explicit(&own->arr, NULL, memory_order_release);
  return got;
}

static void larson_run(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  larson_shared_t *sh = t->shared;
  larson_state_t *s = t->state;
  unsigned char **slots = s->slots;
  const uint64_t iters = o->iters, round = o->ws;
  const uint32_t ws = (uint32_t)o->ws, min = (uint32_t)o->min, span = (uint32_t)(o->max - o->min + 1);
  uint64_t x = t->seed;
  for (uint64_t done = 0; done < iters;) {
    uint64_t end = iters - done < round ? iters : done + round;
    for (uint64_t i = done; i < end; i++) replace_one(slots, &x, ws, min, span, true, i);
    if (end - done == round) slots = larson_handoff(sh, t->index, slots);
    done = end;
  }
  s->slots = slots;
  t->ops = iters;
}

static void larson_teardown(bench_thread_t *t) {
  larson_state_t *s = t->state;
  replace_free(s->slots, t->opts->ws);
  free(s);
  t->state = NULL;
}

static const bench_workload_t k_larson = {
    .name = "larson",
    .summary = "larson: threads replace random blocks (sizes in [min, max]) in an array of ws slots and pass "
               "the array round a ring every ws iterations, so blocks are freed by other threads (Larson).",
    .op = "one free() of a random slot's block (allocated by this or, after a hand-off, another thread) + "
          "one malloc() of a random size in [min, max] (first byte written); ops summed over threads",
    .defaults =
        {
            .iters = 5000000,
            .ws = 1000,
            .threads = 2,
            .seed = 1,
            .min = 16,
            .max = 1024,
        },
    .init = larson_init,
    .setup = larson_setup,
    .run = larson_run,
    .teardown = larson_teardown,
    .fini = larson_fini,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_larson); }
