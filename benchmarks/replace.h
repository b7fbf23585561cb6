/* benchmarks/replace.h — the "random replace" loop shared by the workload
 * drivers mixed.c, c7_only.c, c6_heavy.c, fixed_size.c and mid_large_mt.c.
 *
 * A thread holds a working set of --ws slots. Setup (replace_setup, not
 * timed) fills every slot with a block of a random size in [--min, --max]
 * drawn from a separate stream (seed ~t->seed), so the measured sequence
 * depends only on the thread's seed. Each measured iteration
 * (replace_run) draws one 64-bit random number (splitmix64, bench_rand from
 * the thread's seed): its low 32 bits pick a slot, its high 32 bits a size in
 * [--min, --max] (bench_below, no division); the slot's block is freed, a
 * block of the new size is allocated, its first byte written, and it goes into
 * the slot. replace_run_fixed is the same loop with the size always --min
 * (the high 32 bits unused). So one op = one iteration = exactly one free() +
 * one malloc() (+ a one-byte store); t->ops = --iters. Teardown
 * (replace_teardown, not timed) frees what is left. With --threads=N each
 * thread does this on its own slots with its own seed (driver.h). */
#ifndef HAKMEM_BENCHMARKS_REPLACE_H
#define HAKMEM_BENCHMARKS_REPLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "benchmarks/driver.h"

/* min + a value in [0, span) from the high 32 bits of r. */
static inline size_t replace_size(uint64_t r, uint32_t min, uint32_t span) {
  return (size_t)min + bench_below((uint32_t)(r >> 32), span);
}

/* One measured iteration, iteration number i, on `slots` of ws entries:
 * sizes in [min, min + span) when vary, else always min. Inlined into the
 * callers' loops (replace.c), so the loop is a plain loop calling free() and
 * malloc(). */
static inline __attribute__((always_inline)) void replace_one(unsigned char **slots, uint64_t *x, uint32_t ws,
                                                              uint32_t min, uint32_t span, bool vary,
                                                              uint64_t i) {
  uint64_t r = bench_rand(x);
  uint32_t idx = bench_below((uint32_t)r, ws);
  free(slots[idx]);
  unsigned char *p = malloc(vary ? replace_size(r, min, span) : (size_t)min);
  if (__builtin_expect(p == NULL, 0)) bench_die("malloc failed at iteration %llu", (unsigned long long)i);
  p[0] = (unsigned char)i;
  slots[idx] = p;
}

/* A fresh array of o->ws blocks, sizes in [o->min, o->max] from the stream
 * x, first byte of each written. Dies if out of memory. */
unsigned char **replace_fill(const bench_opts_t *o, uint64_t x);

/* Frees the ws blocks of `slots`, then the array. */
void replace_free(unsigned char **slots, uint64_t ws);

/* bench_workload_t hooks: t->state is the thread's slot array. */
void replace_setup(bench_thread_t *t);
void replace_run(bench_thread_t *t);       /* sizes in [--min, --max] */
void replace_run_fixed(bench_thread_t *t); /* size --min (check --min == --max) */
void replace_teardown(bench_thread_t *t);

#endif /* HAKMEM_BENCHMARKS_REPLACE_H */
