/* benchmarks/large.c — the "large and huge blocks" workload (issue 13), two
 * modes:
 *
 * Random replace (default): a working set of --ws slots (default 64), each
 * holding a block of a log-uniform size in [--min, --max] (default 32 KiB ..
 * 32 MiB: an octave picked uniformly, then a size uniform within it). Each
 * measured iteration frees a random slot's block and allocates one of a new
 * size in its place, then touches it: one byte per 4 KiB page
 * (--touch=page, default) or its first byte only (--touch=first). One op =
 * one free() + one malloc() + the touches.
 *
 * Realloc growth (--realloc-step=N, N > 0): a block starts at 16 B and is
 * grown by realloc in steps of N bytes up to --max (give
 * --max=67108864 for 64 MiB), then freed, and the next round starts; after
 * each realloc the new part is touched (one byte per new page, or the last
 * byte with --touch=first). One op = one realloc(); --iters reallocs in all
 * (rounds restart as needed). --ws and --min are unused in this mode.
 *
 * The two flags are this driver's own: main() takes them off the command
 * line and hands them to the workers (which bench_main re-executes with the
 * common flags only) through the environment variables LARGE_BENCH_TOUCH and
 * LARGE_BENCH_REALLOC_STEP.
 *   bazel run -c opt //benchmarks:large -- --allocator=hakmem,glibc,mimalloc,jemalloc,tcmalloc
 *   bazel run -c opt //benchmarks:large -- --realloc-step=16384 --max=67108864 --iters=4096 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchmarks/driver.h"

typedef struct large_state {
  unsigned char **slots;
  unsigned octaves; /* sizes in [min << k, min << (k+1)) for k < octaves, capped at max */
} large_state_t;

static bool g_touch_first;
static uint64_t g_realloc_step;

static void read_mode(void) {
  const char *t = getenv("LARGE_BENCH_TOUCH");
  const char *s = getenv("LARGE_BENCH_REALLOC_STEP");
  g_touch_first = t != NULL && strcmp(t, "first") == 0;
  g_realloc_step = s != NULL ? strtoull(s, NULL, 10) : 0;
}

static size_t pick_size(uint64_t r, const bench_opts_t *o, unsigned octaves) {
  unsigned k = bench_below((uint32_t)r, octaves);
  size_t lo = (size_t)o->min << k;
  size_t size = lo + (size_t)(((r >> 32) * (uint64_t)lo) >> 32);
  return size > o->max ? (size_t)o->max : size;
}

static void touch(unsigned char *p, size_t from, size_t to) {
  if (g_touch_first) {
    p[from] = 1;
    return;
  }
  for (size_t off = from; off < to; off += 4096) p[off] = 1;
}

static const char *large_check(const bench_opts_t *o) {
  read_mode();
  if (o->threads != 1) return "large runs one thread: --threads must be 1";
  if (o->min < 1 || o->max < o->min) return "need 1 <= --min <= --max";
  if (g_realloc_step == 0 && o->ws > 4096) return "--ws: at most 4096 slots";
  return NULL;
}

static void large_setup(bench_thread_t *t) {
  read_mode();
  const bench_opts_t *o = t->opts;
  large_state_t *s = calloc(1, sizeof(*s));
  if (s == NULL) bench_die("out of memory");
  s->octaves = 1;
  while (((size_t)o->min << s->octaves) < o->max && s->octaves < 40) s->octaves++;
  if (g_realloc_step == 0) {
    s->slots = calloc(o->ws, sizeof(*s->slots));
    if (s->slots == NULL) bench_die("out of memory");
    uint64_t x = ~t->seed;
    for (uint64_t i = 0; i < o->ws; i++) {
      size_t n = pick_size(bench_rand(&x), o, s->octaves);
      s->slots[i] = malloc(n);
      if (s->slots[i] == NULL) bench_die("malloc(%zu) failed", n);
      touch(s->slots[i], 0, n);
    }
  }
  t->state = s;
}

static void large_run(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  large_state_t *s = t->state;
  const uint64_t iters = o->iters;
  if (g_realloc_step == 0) {
    const uint32_t ws = (uint32_t)o->ws;
    uint64_t x = t->seed;
    for (uint64_t i = 0; i < iters; i++) {
      uint64_t r = bench_rand(&x);
      uint32_t slot = bench_below((uint32_t)(r >> 32), ws);
      size_t n = pick_size(bench_rand(&x), o, s->octaves);
      free(s->slots[slot]);
      unsigned char *p = malloc(n);
      if (p == NULL) bench_die("malloc(%zu) failed", n);
      touch(p, 0, n);
      s->slots[slot] = p;
    }
  } else {
    unsigned char *p = NULL;
    size_t n = 0;
    for (uint64_t i = 0; i < iters; i++) {
      size_t m = n == 0 ? 16 : n + g_realloc_step;
      if (m > o->max) { /* round done: start again */
        free(p);
        p = NULL;
        n = 0;
        m = 16;
      }
      unsigned char *q = realloc(p, m);
      if (q == NULL) bench_die("realloc(%zu) failed", m);
      if (g_touch_first) q[m - 1] = 1;
      else touch(q, n == 0 ? 0 : (n + 4095) / 4096 * 4096, m);
      p = q;
      n = m;
    }
    free(p);
  }
  t->ops = iters;
}

static void large_teardown(bench_thread_t *t) {
  large_state_t *s = t->state;
  if (s->slots != NULL) {
    for (uint64_t i = 0; i < t->opts->ws; i++) free(s->slots[i]);
    free(s->slots);
  }
  free(s);
  t->state = NULL;
}

static const bench_workload_t k_large = {
    .name = "large",
    .summary = "large: random replace over log-uniform sizes in [min, max] (default 32 KiB .. 32 MiB, ws 64, "
               "--touch=page|first), or realloc growth from 16 B to --max in steps of --realloc-step=N.",
    .op = "replace mode: one free() + one malloc() + touching the new block (one byte per page, or the first "
          "byte); realloc mode: one realloc() growing the block by --realloc-step + touching the new part",
    .defaults =
        {
            .iters = 2000,
            .ws = 64,
            .threads = 1,
            .seed = 1,
            .min = 32768,
            .max = (uint64_t)32 << 20,
        },
    .check = large_check,
    .setup = large_setup,
    .run = large_run,
    .teardown = large_teardown,
};

int main(int argc, char **argv) {
  /* Take this driver's flags off the command line; the workers get them
   * through the environment (set here, inherited). */
  int out = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--touch=", 8) == 0) {
      if (strcmp(a + 8, "page") != 0 && strcmp(a + 8, "first") != 0) {
        fprintf(stderr, "large: --touch must be page or first\n");
        return 2;
      }
      setenv("LARGE_BENCH_TOUCH", a + 8, 1);
    } else if (strncmp(a, "--realloc-step=", 15) == 0) {
      char *end;
      unsigned long long v = strtoull(a + 15, &end, 10);
      if (*end != '\0' || a[15] == '\0') {
        fprintf(stderr, "large: --realloc-step must be a number of bytes\n");
        return 2;
      }
      char buf[32];
      snprintf(buf, sizeof(buf), "%llu", v);
      setenv("LARGE_BENCH_REALLOC_STEP", buf, 1);
    } else {
      argv[out++] = argv[i];
    }
  }
  argv[out] = NULL;
  return bench_main(out, argv, &k_large);
}
