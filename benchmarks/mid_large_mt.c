/* benchmarks/mid_large_mt.c — the "mid/large, multi-threaded" workload (seed
 * bench_mid_large_mt): --threads threads (default 2), each doing --iters
 * iterations (default 1,000,000) on its own working set of --ws slots
 * (default 256) with random sizes in [--min, --max] (default 8..32 KiB, i.e.
 * above the tiny classes).
 *
 * Setup (not timed, on each thread) fills the thread's slots. Each measured
 * iteration draws one 64-bit random number (splitmix64, the thread's seed
 * derived from --seed): its low 32 bits pick one of the thread's slots, its
 * high 32 bits a size; the slot's block is freed, a block of the new size is
 * allocated, its first byte written, and it goes into the slot. Threads never
 * touch each other's blocks (no cross-thread frees: that is larson.c). So one
 * op = one iteration of one thread = exactly one free() + one malloc() (+ a
 * one-byte store); ops/s = the sum of all threads' iterations / the elapsed
 * seconds from the start barrier to the stop barrier (driver.h). Teardown
 * (not timed) frees what is left. */
#include <stdlib.h>

#include "benchmarks/driver.h"

typedef struct mlmt_state {
  unsigned char **slots;
} mlmt_state_t;

static inline size_t pick_size(uint64_t r, uint32_t min, uint32_t span) {
  return (size_t)min + bench_below((uint32_t)(r >> 32), span);
}

static void mlmt_setup(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  mlmt_state_t *s = malloc(sizeof(*s));
  if (s == NULL) bench_die("out of memory");
  s->slots = calloc((size_t)o->ws, sizeof(*s->slots));
  if (s->slots == NULL) bench_die("out of memory for %llu slots", (unsigned long long)o->ws);
  /* A separate stream, so the measured sequence depends only on the seed. */
  uint64_t x = ~t->seed;
  uint32_t min = (uint32_t)o->min, span = (uint32_t)(o->max - o->min + 1);
  for (uint64_t i = 0; i < o->ws; i++) {
    uint64_t r = bench_rand(&x);
    unsigned char *p = malloc(pick_size(r, min, span));
    if (p == NULL) bench_die("malloc failed while filling the working set");
    p[0] = (unsigned char)r;
    s->slots[i] = p;
  }
  t->state = s;
}

static void mlmt_run(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  mlmt_state_t *s = t->state;
  unsigned char **slots = s->slots;
  const uint64_t iters = o->iters;
  const uint32_t ws = (uint32_t)o->ws, min = (uint32_t)o->min, span = (uint32_t)(o->max - o->min + 1);
  uint64_t x = t->seed;
  for (uint64_t i = 0; i < iters; i++) {
    uint64_t r = bench_rand(&x);
    uint32_t idx = bench_below((uint32_t)r, ws);
    free(slots[idx]);
    unsigned char *p = malloc(pick_size(r, min, span));
    if (__builtin_expect(p == NULL, 0)) bench_die("malloc failed at iteration %llu", (unsigned long long)i);
    p[0] = (unsigned char)i;
    slots[idx] = p;
  }
  t->ops = iters;
}

static void mlmt_teardown(bench_thread_t *t) {
  mlmt_state_t *s = t->state;
  for (uint64_t i = 0; i < t->opts->ws; i++) free(s->slots[i]);
  free(s->slots);
  free(s);
  t->state = NULL;
}

static const bench_workload_t k_mid_large_mt = {
    .name = "mid_large_mt",
    .summary = "mid_large_mt: threads x iters, each thread on its own ws slots, random sizes in [min, max] "
               "(default 8..32 KiB; seed bench_mid_large_mt).",
    .op = "one free() of a random slot's block + one malloc() of a random size in [min, max] (first byte "
          "written), by one thread on its own slots; ops summed over threads",
    .defaults =
        {
            .iters = 1000000,
            .ws = 256,
            .threads = 2,
            .seed = 1,
            .min = 8192,
            .max = 32768,
        },
    .setup = mlmt_setup,
    .run = mlmt_run,
    .teardown = mlmt_teardown,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_mid_large_mt); }
