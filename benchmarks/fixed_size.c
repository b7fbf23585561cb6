/* benchmarks/fixed_size.c — the "fixed size" workload (seed
 * bench_fixed_size): one request size over a working set of --ws slots
 * (default 64 B, 256 slots).
 *
 * The size is given as --min=S --max=S (both the same; default 64): a
 * --min different from --max is a usage error (exit 2), so a table or JSON
 * line always shows the one size that was measured.
 *
 * Setup (not timed) fills every slot with a block of that size. Each measured
 * iteration draws one 64-bit random number (splitmix64, --seed); its low 32
 * bits pick a slot, whose block is freed; a new block of the same size is
 * allocated, its first byte written, and it goes into the slot. So one op =
 * one iteration = exactly one free() + one malloc() (+ a one-byte store);
 * ops/s = iterations / elapsed seconds of the loop. Teardown (not timed)
 * frees what is left. With --threads=N each thread does this on its own slots
 * with its own seed. */
#include <stdlib.h>

#include "benchmarks/driver.h"

typedef struct fixed_state {
  unsigned char **slots;
} fixed_state_t;

static const char *fixed_check(const bench_opts_t *o) {
  if (o->min != o->max) {
    return "fixed_size measures one size: give --min and --max the same value (e.g. --min=128 --max=128)";
  }
  return NULL;
}

static void fixed_setup(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  fixed_state_t *s = malloc(sizeof(*s));
  if (s == NULL) bench_die("out of memory");
  s->slots = calloc((size_t)o->ws, sizeof(*s->slots));
  if (s->slots == NULL) bench_die("out of memory for %llu slots", (unsigned long long)o->ws);
  const size_t size = (size_t)o->min;
  for (uint64_t i = 0; i < o->ws; i++) {
    unsigned char *p = malloc(size);
    if (p == NULL) bench_die("malloc failed while filling the working set");
    p[0] = (unsigned char)i;
    s->slots[i] = p;
  }
  t->state = s;
}

static void fixed_run(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  fixed_state_t *s = t->state;
  unsigned char **slots = s->slots;
  const uint64_t iters = o->iters;
  const uint32_t ws = (uint32_t)o->ws;
  const size_t size = (size_t)o->min;
  uint64_t x = t->seed;
  for (uint64_t i = 0; i < iters; i++) {
    uint32_t idx = bench_below((uint32_t)bench_rand(&x), ws);
    free(slots[idx]);
    unsigned char *p = malloc(size);
    if (__builtin_expect(p == NULL, 0)) bench_die("malloc failed at iteration %llu", (unsigned long long)i);
    p[0] = (unsigned char)i;
    slots[idx] = p;
  }
  t->ops = iters;
}

static void fixed_teardown(bench_thread_t *t) {
  fixed_state_t *s = t->state;
  for (uint64_t i = 0; i < t->opts->ws; i++) free(s->slots[i]);
  free(s->slots);
  free(s);
  t->state = NULL;
}

static const bench_workload_t k_fixed_size = {
    .name = "fixed_size",
    .summary = "fixed_size: one size (--min=S --max=S, the same value) over a working set of ws slots "
               "(seed bench_fixed_size).",
    .op = "one free() of a random slot's block + one malloc() of the fixed size (first byte written)",
    .defaults =
        {
            .iters = 10000000,
            .ws = 256,
            .threads = 1,
            .seed = 1,
            .min = 64,
            .max = 64,
        },
    .check = fixed_check,
    .setup = fixed_setup,
    .run = fixed_run,
    .teardown = fixed_teardown,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_fixed_size); }
