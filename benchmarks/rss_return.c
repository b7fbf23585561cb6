/* benchmarks/rss_return.c — the "RSS return" workload: how much memory an
 * allocator gives back to the OS after a program frees most of a big working
 * set, over time and after an explicit trim.
 *
 * The measured loop (run) allocates a working set of --ws MiB (default 256):
 * a quarter in tiny blocks (16..1024 B), half in mid blocks (1025 B..32 KiB),
 * a quarter in large blocks (32 KiB..1 MiB), sizes uniform in each band
 * (clamped to [--min, --max]), each block written in full; then frees 90% of
 * the blocks (every one but each tenth, in a scattered order). One op = one
 * malloc() or one free(). Afterwards (teardown, not timed) the worker samples
 * its RSS (/proc/self/statm) and reports it with bench_metric(), in MiB:
 *   start   before the working set was allocated
 *   full    the working set allocated and written
 *   0ms     right after the frees; then, with no allocator call at all,
 *   10ms, 100ms, 1s, 2s   after sleeping that long since the frees;
 *   2s+op   after one malloc()+free() of 64 B and of 64 KiB (a small and a
 *           large call: allocators that purge on their own calls do it now);
 *   trim    after the allocator's own "give memory back now" call:
 *           malloc_trim(0) (glibc, hakmem), mi_collect(true) (mimalloc),
 *           mallctl("arena.4096.purge") (jemalloc),
 *           MallocExtension_ReleaseFreeMemory() (tcmalloc); "-" if the
 *           allocator has none.
 * The 10% left live (about --ws / 10 MiB) stays allocated through all of
 * this and is freed at the end. The table's "peak RSS" is the worker's
 * ru_maxrss. --threads must be 1 and --iters 1 (one round).
 *   bazel run //benchmarks:rss_return -- --allocator=hakmem,glibc,mimalloc --runs=3 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchmarks/driver.h"

typedef struct rss_state {
  void **blocks;
  size_t n;
  double start_mib, full_mib;
} rss_state_t;

static double rss_mib(void) {
  /* open/read, not fopen: no allocation between the samples. */
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) bench_die("open /proc/self/statm failed");
  char buf[128];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  unsigned long pages = 0, resident = 0;
  if (n <= 0) bench_die("read /proc/self/statm failed");
  buf[n] = '\0';
  if (sscanf(buf, "%lu %lu", &pages, &resident) != 2) bench_die("cannot parse /proc/self/statm");
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static void sleep_until(const struct timespec *t0, long ms) {
  struct timespec t = *t0;
  t.tv_sec += ms / 1000;
  t.tv_nsec += (ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0) {
  }
}

/* The allocator's own call to return free memory now; false if none. */
static bool allocator_trim(void) {
  void *f;
  if ((f = dlsym(RTLD_DEFAULT, "mi_collect")) != NULL) { /* mimalloc */
    ((void (*)(bool))f)(true);
    return true;
  }
  if ((f = dlsym(RTLD_DEFAULT, "mallctl")) != NULL) { /* jemalloc: every arena */
    return ((int (*)(const char *, void *, size_t *, void *, size_t))f)("arena.4096.purge", NULL, NULL, NULL, 0) == 0;
  }
  if ((f = dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory")) != NULL) { /* tcmalloc */
    ((void (*)(void))f)();
    return true;
  }
  if ((f = dlsym(RTLD_DEFAULT, "malloc_trim")) != NULL) { /* glibc, hakmem */
    ((int (*)(size_t))f)(0);
    return true;
  }
  return false;
}

static const char *check(const bench_opts_t *o) {
  if (o->threads != 1) return "rss_return measures one process: --threads must be 1";
  if (o->iters != 1) return "rss_return runs one round: --iters must be 1";
  if (o->ws > 65536) return "--ws is the working set in MiB: at most 65536";
  return NULL;
}

/* Bands: tiny, mid, large; a quarter, a half, a quarter of the bytes. */
static const struct {
  uint64_t lo, hi, share; /* share in quarters */
} k_bands[3] = {{16, 1024, 1}, {1025, 32768, 2}, {32769, 1u << 20, 1}};

static void setup(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  rss_state_t *st = calloc(1, sizeof(*st));
  if (st == NULL) bench_die("out of memory");
  /* Blocks needed at most: every band at its smallest size. */
  size_t cap = 0;
  for (int b = 0; b < 3; b++) {
    uint64_t lo = k_bands[b].lo > o->min ? k_bands[b].lo : o->min;
    cap += (size_t)((o->ws << 20) * k_bands[b].share / 4 / lo + 1);
  }
  st->blocks = malloc(cap * sizeof(void *));
  if (st->blocks == NULL) bench_die("out of memory");
  st->start_mib = rss_mib();
  t->state = st;
}

static void run(bench_thread_t *t) {
  const bench_opts_t *o = t->opts;
  rss_state_t *st = t->state;
  uint64_t seed = t->seed;
  size_t n = 0;
  for (int b = 0; b < 3; b++) {
    uint64_t lo = k_bands[b].lo > o->min ? k_bands[b].lo : o->min;
    uint64_t hi = k_bands[b].hi < o->max ? k_bands[b].hi : o->max;
    if (lo > hi) continue;
    const uint64_t bytes = (o->ws << 20) * k_bands[b].share / 4;
    for (uint64_t sum = 0; sum < bytes;) {
      size_t size = (size_t)(lo + bench_rand(&seed) % (hi - lo + 1));
      void *p = malloc(size);
      if (p == NULL) bench_die("malloc(%zu) returned NULL", size);
      memset(p, 0x5a, size);
      st->blocks[n++] = p;
      sum += size;
    }
  }
  st->full_mib = rss_mib();
  /* Scatter, then free all but every tenth block. */
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(bench_rand(&seed) % i);
    void *tmp = st->blocks[i - 1];
    st->blocks[i - 1] = st->blocks[j];
    st->blocks[j] = tmp;
  }
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (i % 10 == 0) {
      st->blocks[kept++] = st->blocks[i];
    } else {
      free(st->blocks[i]);
    }
  }
  st->n = kept;
  t->ops = n + (n - kept);
}

static void teardown(bench_thread_t *t) {
  rss_state_t *st = t->state;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const double at0 = rss_mib();
  static const struct {
    const char *name;
    long ms;
  } k_points[] = {{"10ms", 10}, {"100ms", 100}, {"1s", 1000}, {"2s", 2000}};
  double at[4];
  for (int i = 0; i < 4; i++) {
    sleep_until(&t0, k_points[i].ms);
    at[i] = rss_mib();
  }
  void *small = malloc(64), *large = malloc(64 * 1024);
  if (small == NULL || large == NULL) bench_die("malloc returned NULL");
  free(small);
  free(large);
  const double after_op = rss_mib();
  const bool trimmed = allocator_trim();
  const double after_trim = rss_mib();

  bench_metric("start", st->start_mib);
  bench_metric("full", st->full_mib);
  bench_metric("0ms", at0);
  for (int i = 0; i < 4; i++) bench_metric(k_points[i].name, at[i]);
  bench_metric("2s+op", after_op);
  if (trimmed) bench_metric("trim", after_trim);

  for (size_t i = 0; i < st->n; i++) free(st->blocks[i]);
  free(st->blocks);
  free(st);
}

static const bench_workload_t k_rss_return = {
    .name = "rss_return",
    .summary = "rss_return: allocate a working set of ws MiB (tiny, mid, large), free 90% of it, then sample RSS\n"
               "over 2 s without any allocator call, after one call, and after the allocator's trim (MiB).",
    .op = "one malloc() (block written in full) or one free() while building and freeing the working set",
    .defaults =
        {
            .iters = 1,
            .ws = 256,
            .threads = 1,
            .seed = 1,
            .min = 16,
            .max = 1u << 20,
        },
    .check = check,
    .setup = setup,
    .run = run,
    .teardown = teardown,
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_rss_return); }
