/* benchmarks/replace.c — the "random replace" loop shared by the workload
 * drivers: setup, measured run and teardown (see replace.h). */
#include "benchmarks/replace.h"

unsigned char **replace_fill(const bench_opts_t *o, uint64_t x) {
  unsigned char **slots = calloc((size_t)o->ws, sizeof(*slots));
  if (slots == NULL) bench_die("out of memory for %llu slots", (unsigned long long)o->ws);
  uint32_t min = (uint32_t)o->min, span = (uint32_t)(o->max - o->min + 1);
  for (uint64_t i = 0; i < o->ws; i++) {
    uint64_t r = bench_rand(&x);
    unsigned char *p = malloc(replace_size(r, min, span));
    if (p == NULL) bench_die("malloc failed while filling the working set");
    p[0] = (unsigned char)r;
    slots[i] = p;
  }
  return slots;
}

void replace_free(unsigned char **slots, uint64_t ws) {
  for (uint64_t i = 0; i < ws; i++) free(slots[i]);
  free(slots);
}

void replace_setup(bench_thread_t *t) {
  /* A separate stream, so the measured sequence depends only on the seed. */
  t->state = replace_fill(t->opts, ~t->seed);
}

/* The measured loop; `vary` is a constant in each caller below, so each gets
 * its own plain loop. */
static inline __attribute__((always_inline)) void replace_loop(bench_thread_t *t, bool vary) {
  const bench_opts_t *o = t->opts;
  unsigned char **slots = t->state;
  const uint64_t iters = o->iters;
  const uint32_t ws = (uint32_t)o->ws, min = (uint32_t)o->min, span = (uint32_t)(o->max - o->min + 1);
  uint64_t x = t->seed;
  for (uint64_t i = 0; i < iters; i++) replace_one(slots, &x, ws, min, span, vary, i);
  t->ops = iters;
}

void replace_run(bench_thread_t *t) { replace_loop(t, true); }

void replace_run_fixed(bench_thread_t *t) { replace_loop(t, false); }

void replace_teardown(bench_thread_t *t) {
  replace_free(t->state, t->opts->ws);
  t->state = NULL;
}
