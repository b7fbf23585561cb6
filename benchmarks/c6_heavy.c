/* benchmarks/c6_heavy.c — the "C6-heavy" workload: random sizes in
 * [--min, --max] (default 257..768 B: half of the requests in hakmem's tiny
 * class C6 = 257..512 B, the rest in C7) over a working set of --ws slots
 * (default 256).
 *
 * The loop is the one of mixed.c: setup (not timed) fills every slot. Each
 * measured iteration draws one 64-bit random number (splitmix64, --seed): its
 * low 32 bits pick a slot, its high 32 bits a size; the slot's block is
 * freed, a block of the new size is allocated, its first byte written, and it
 * goes into the slot. So one op = one iteration = exactly one free() + one
 * malloc() (+ a one-byte store); ops/s = iterations / elapsed seconds of the
 * loop. Teardown (not timed) frees what is left. With --threads=N each thread
 * does this on its own slots with its own seed. */
#include <stdlib.h>

#include "benchmarks/driver.h"

typedef struct c6_state {
  unsigned char **slots;
} c6_state_t;

static inline size_t pick_size(uint64_t r, uint32_t min, uint32_t span) {
  return (size_t)min + bench_below((uint32_t)(r >> 32), span);
}

static void c6_setup(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  c6_state_t *s = malloc(sizeof(*s));
  if (s == NULL) bench_die("out of memory");
  s->slots = calloc((size_t)o->ws, sizeof(*s->slots));
  if (s->slots == NULL) bench_die("out of memory for %llu slots", (unsigned long long)o->ws);
  /* A separate stream, so the measured sequence depends only on --seed. */
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

static void c6_run(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  c6_state_t *s = t->state;
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

static void c6_teardown(bench_thread_t *t) {
  c6_state_t *s = t->state;
  for (uint64_t i = 0; i < t->opts->ws; i++) free(s->slots[i]);
  free(s->slots);
  free(s);
  t->state = NULL;
}

static const bench_workload_t k_c6_heavy = {
    .name = "c6_heavy",
    .summary = "c6_heavy: random sizes in [min, max] (default 257..768 B) over a working set of ws slots.",
    .op = "one free() of a random slot's block + one malloc() of a random size in [min, max] (first byte written)",
    .defaults =
        {
            .iters = 10000000,
            .ws = 256,
            .threads = 1,
            .seed = 1,
            .min = 257,
            .max = 768,
        },
    .setup = c6_setup,
    .run = c6_run,
    .teardown = c6_teardown,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_c6_heavy); }
