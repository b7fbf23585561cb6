/* benchmarks/soak.c — the long-run soak (issue 6 item 6): mixed sizes,
 * several threads, cross-thread frees and a working set that grows and
 * shrinks, for --duration seconds, sampled every --interval seconds: ops/s
 * of the interval, RSS (/proc/self/statm), live bytes. Reports, per series
 * (allocator, or hakmem under one profile), the samples side by side and
 * the drift of RSS and ops/s from the middle of the run to its end. It
 * measures; it asserts nothing about the numbers.
 *
 *   bazel run -c opt //benchmarks:soak -- --allocator=hakmem,glibc,mimalloc \
 *     --profile=LEGACY [--duration=600] [--interval=10] [--threads=2] [--json=FILE]
 *
 * Workload (per worker thread, --threads, default 2). Sizes: 90% tiny
 * (16..1024 B), 9% mid (1025..32768 B), 1% large (32769..262144 B), uniform
 * within each range. Every block is touched: an 8-byte header (size and a
 * check word), one byte in every 4 KiB it spans and its last byte, so RSS
 * follows what the program holds; the header and the last byte are checked
 * when the block is freed (the run stops on a corrupted block). A thread
 * holds up to --ws blocks (default 8192, ~28 MiB) in a dense array. Each
 * interval has its own shape, the same for every allocator (drawn from the
 * seed): the thread's target block count rises linearly from where it stands
 * (the base, --ws/16; 0 at the start) to a random peak in [--ws/4, --ws]
 * over the first 40% of the interval, falls back to the base over the next
 * 40% and stays there for the last 20%; so every sample is taken with the
 * working set back at the same base after a peak of random height, and RSS
 * that creeps from sample to sample is memory the allocator keeps, not
 * memory the program holds. Each step (the target is re-read every 32
 * steps, from the clock) allocates a block when the thread holds fewer than
 * the target, frees a random one when it holds more, else replaces a random
 * one (free, then malloc). One in four blocks leaving a thread's array is
 * not freed by it but handed to the next thread (i -> i+1 mod threads)
 * through a lock-free single-producer ring of 1024 entries, which that
 * thread drains every 32 steps and frees: cross-thread frees (a thread
 * that finds the ring full waits for it, see release()). One op = one malloc() or one free()
 * call, whichever thread makes it; ops/s of an interval = the ops of all
 * threads / the interval's length (from the release of the threads to the
 * last one stopping; they stop on the clock).
 *
 * Samples, at the end of each interval, with the threads stopped: elapsed
 * time (sum of the intervals), ops/s of the interval, RSS now, the largest
 * RSS seen during the interval (polled every 100 ms by the worker's main
 * thread, which does nothing else), live bytes (allocated - freed by the
 * program, blocks in the rings included) now and the sum over threads of
 * their largest holding during the interval, and the cross-thread frees.
 *
 * Order: the series run INTERLEAVED by interval by default: one worker
 * process per series, all started at the beginning and each kept alive for
 * the whole run; the controller lets worker A run interval 1, then B
 * interval 1, then C, then A interval 2, ... (a byte on the worker's stdin
 * starts one interval; between its intervals a worker's threads wait on a
 * condition variable and use no CPU; the clock of a worker counts only its
 * own intervals). Why: the machine is a shared 2-core VM where other jobs
 * come and go over minutes; run one after another, a 10-minute series can
 * meet a quiet machine and the next one a busy one, and the comparison of
 * ops/s (and of time-based purging) would measure the neighbours. Interleaved,
 * the k-th samples of all series lie within seconds of each other, so a
 * change of background load hits them alike, and each series still lives in
 * one process for its whole duration (what a soak is about). Running them
 * concurrently is not an option on 2 cores. The cost: a worker is paused
 * for (series - 1) x interval between its intervals; an allocator that
 * purges on a wall-clock timer (jemalloc's decay, mimalloc's purge delay)
 * gets that pause for free, which can only lower its RSS at the next
 * samples' start, not at the end-of-interval sample after 10 s of work.
 * --order=sequential runs each series to its end before the next one starts
 * (same seed, same interval shapes).
 *
 * Verdict (reported, not asserted): RSS drift = the last sample's RSS vs the
 * median RSS of the middle of the run (samples [n/4, ceil(3n/4))); ops/s
 * drift = the median ops/s of the last 10% of the samples (at least one: a
 * single interval's ops/s is noisy on a shared machine) vs the median over
 * the same middle samples.
 *
 * Output: a table with one row per sample and one group of columns per
 * series (with 60 samples, a row per series and a column per sample would be
 * 60 columns wide), a summary per series and the verdict lines; with
 * --json=FILE one JSON object per series per line (the samples in
 * "samples"), the input of tools/bench_history.py. Exit status: 0 ok, 1 a
 * series failed (the others are still reported), 2 bad command line.
 *
 * Worker protocol (internal): `soak --worker=ALLOCATOR --duration --interval
 * --threads --seed --ws` (environment as bench_main's workers, driver.h)
 * reads one byte per interval on stdin ('g'), prints
 *   hakmem-soak-sample k=K ns=NS ops=N frees=F xfree=X rss_kib=R
 *     rss_max_kib=M live=B live_max=BM
 * after each, then waits for 'q', frees everything and prints
 *   hakmem-bench-result ops=<N> ns=<NS> threads=<T> malloc=<path>. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchmarks/bench_util.h"
#include "benchmarks/driver.h"

#if defined(__x86_64__)
#define SOAK_ARCH "x86_64"
#elif defined(__aarch64__)
#define SOAK_ARCH "aarch64"
#else
#define SOAK_ARCH "unknown"
#endif

#define SAMPLE_TAG "hakmem-soak-sample"
#define RESULT_TAG "hakmem-bench-result"
#define SOAK_OP                                                                                              \
  "one malloc() or one free() call (cross-thread frees counted by the thread that makes them); every block " \
  "touched (header, one byte per 4 KiB, last byte) and checked when freed"

#define LINE 64
#define RING_CAP 1024u /* power of two */
#define STEPS_PER_CHECK 32
#define POLL_NS 100000000ull /* RSS poll during an interval: 100 ms */
#define HANDOFF 4            /* one in HANDOFF blocks leaving an array goes to the next thread */
#define MAX_ALLOCS 5
#define MAX_PROFILES 4
#define MAX_SERIES (MAX_ALLOCS - 1 + MAX_PROFILES)
#define MAX_SAMPLES 100000
#define MAX_THREADS 64

/* Size classes, per mille: tiny, mid, large (the rest). */
#define TINY_MIN 16u
#define TINY_MAX 1024u
#define MID_MAX 32768u
#define LARGE_MAX 262144u
#define TINY_PERMILLE 900u
#define MID_PERMILLE 90u

/* ------------------------------------------------------------------------ */
/* Command line */

typedef struct soak_opts {
  uint64_t duration, interval, threads, seed, ws;
  bool sequential;
  const char *allocs[MAX_ALLOCS];
  size_t nallocs;
  const char *profiles[MAX_PROFILES];
  size_t nprofiles;
  const char *json;
  const char *worker;
  bool verbose;
} soak_opts_t;

static const char *g_prog = "soak";

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [--allocator=LIST] [--profile=LIST] [--duration=SECONDS] [--interval=SECONDS]\n"
          "       %*s [--threads=N] [--ws=N] [--seed=N] [--order=interleaved|sequential]\n"
          "       %*s [--json=FILE] [--verbose]\n"
          "\n"
          "soak: mixed sizes (90%% 16..1024 B, 9%% ..32 KiB, 1%% ..256 KiB), threads handing one in four\n"
          "of their frees to the next thread, a working set that rises to a random peak and falls back\n"
          "in every interval; ops/s, RSS and live bytes sampled at the end of each interval.\n"
          "One op: %s.\n"
          "\n"
          "  --allocator=LIST  comma list of hakmem, glibc, mimalloc, jemalloc, tcmalloc\n"
          "                    (default hakmem,glibc)\n"
          "  --profile=LIST    HAKMEM profiles (LEGACY, C7_SAFE, C7_ULTRA_BENCH, CUSTOM): one hakmem\n"
          "                    series each, given HAKMEM_TINY_HEAP_PROFILE (default: the environment's)\n"
          "  --duration=S      seconds of work per series (default 600), a multiple of --interval\n"
          "  --interval=S      seconds between samples (default 10)\n"
          "  --threads=N       worker threads (default 2; 1: no cross-thread frees)\n"
          "  --ws=N            most blocks a thread holds (default 8192; base level N/16)\n"
          "  --seed=N          PRNG seed (default 1), the same for every series\n"
          "  --order=O         interleaved (default): the series take turns, one interval each;\n"
          "                    sequential: each series runs to its end before the next\n"
          "  --json=FILE       also write one JSON object per series per line (\"-\": JSON on stdout,\n"
          "                    the table on stderr; relative to where bazel run was started)\n"
          "  --verbose         print each worker's command line on stderr\n"
          "  --help            this text\n"
          "\n"
          "Each series is one worker process for the whole run (LD_PRELOAD selects the allocator, as\n"
          "for the other drivers). Exit status: 0 ok, 1 a series failed, 2 usage.\n",
          g_prog, (int)strlen(g_prog), "", (int)strlen(g_prog), "", SOAK_OP);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", g_prog);
  vfprintf(stderr, fmt, ap);
  fputs("\n\n", stderr);
  va_end(ap);
  usage(stderr);
  return 2;
}

/* A comma list of names through lookup (canonical name or NULL), duplicates
 * dropped. Returns 0 or the usage status. */
static int parse_list(const char *flag, const char *list, const char *(*lookup)(const char *, size_t),
                      const char **out, size_t cap, size_t *n, const char *known) {
  *n = 0;
  for (const char *p = list;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *name = lookup(p, len);
    if (name == NULL) return usage_error("%s: unknown \"%.*s\" (known: %s)", flag, (int)len, p, known);
    bool dup = false;
    for (size_t i = 0; i < *n; i++) dup |= out[i] == name;
    if (!dup && *n < cap) out[(*n)++] = name;
    if (end == NULL) break;
    p = end + 1;
  }
  return 0;
}

static int parse_cmdline(soak_opts_t *o, int argc, char **argv, bool *help) {
  memset(o, 0, sizeof(*o));
  o->duration = 600;
  o->interval = 10;
  o->threads = 2;
  o->seed = 1;
  o->ws = 8192;
  o->allocs[0] = "hakmem";
  o->allocs[1] = "glibc";
  o->nallocs = 2;
  *help = false;
  const char *known_allocs = "hakmem, glibc, mimalloc, jemalloc, tcmalloc";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    struct {
      const char *name;
      uint64_t *dst, lo, hi;
    } nums[] = {
        {"--duration", &o->duration, 1, 7 * 86400},
        {"--interval", &o->interval, 1, 86400},
        {"--threads", &o->threads, 1, MAX_THREADS},
        {"--seed", &o->seed, 0, UINT64_MAX},
        {"--ws", &o->ws, 16, (uint64_t)1 << 20},
    };
    bool done = false;
    for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]) && !done; k++) {
      if ((v = bench_flag_value(a, nums[k].name)) == NULL) continue;
      uint64_t x;
      if (!bench_parse_u64(v, &x) || x < nums[k].lo || x > nums[k].hi) {
        return usage_error("%s: \"%s\" is not a number in %llu..%llu", nums[k].name, v,
                           (unsigned long long)nums[k].lo, (unsigned long long)nums[k].hi);
      }
      *nums[k].dst = x;
      done = true;
    }
    if (done) continue;
    int rc;
    if ((v = bench_flag_value(a, "--allocator")) != NULL) {
      if ((rc = parse_list("--allocator", v, bench_allocator_name, o->allocs, MAX_ALLOCS, &o->nallocs,
                           known_allocs)) != 0) {
        return rc;
      }
    } else if ((v = bench_flag_value(a, "--profile")) != NULL) {
      if ((rc = parse_list("--profile", v, bench_profile_name, o->profiles, MAX_PROFILES, &o->nprofiles,
                           "LEGACY, C7_SAFE, C7_ULTRA_BENCH, CUSTOM")) != 0) {
        return rc;
      }
    } else if ((v = bench_flag_value(a, "--order")) != NULL) {
      if (strcmp(v, "interleaved") == 0) {
        o->sequential = false;
      } else if (strcmp(v, "sequential") == 0) {
        o->sequential = true;
      } else {
        return usage_error("--order: \"%s\" is neither interleaved nor sequential", v);
      }
    } else if ((v = bench_flag_value(a, "--json")) != NULL) {
      if (*v == '\0') return usage_error("--json needs a file name");
      o->json = v;
    } else if ((v = bench_flag_value(a, "--worker")) != NULL) {
      o->worker = bench_allocator_name(v, strlen(v));
      if (o->worker == NULL) return usage_error("--worker: unknown allocator \"%s\"", v);
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      o->verbose = true;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *help = true;
      return 0;
    } else {
      return usage_error("unknown argument \"%s\"", a);
    }
  }
  if (o->interval > o->duration || o->duration % o->interval != 0) {
    return usage_error("--duration=%llu is not a multiple of --interval=%llu", (unsigned long long)o->duration,
                       (unsigned long long)o->interval);
  }
  if (o->duration / o->interval > MAX_SAMPLES) return usage_error("more than %d samples", MAX_SAMPLES);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Worker: the threads */

/* Single producer (thread i-1), single consumer (thread i). */
typedef struct ring {
  _Alignas(LINE) _Atomic uint64_t head; /* next to take (consumer) */
  _Alignas(LINE) _Atomic uint64_t tail; /* next to fill (producer) */
  _Alignas(LINE) unsigned char *buf[RING_CAP];
} ring_t;

typedef struct soak_worker soak_worker_t;

typedef struct soak_thread {
  _Alignas(LINE) soak_worker_t *w;
  uint64_t rng;       /* the operations */
  uint64_t shape_rng; /* the intervals' peaks: the same for every allocator */
  unsigned char **slots;
  size_t n; /* blocks held: slots[0..n) */
  ring_t *inbox, *outbox; /* outbox: the next thread's inbox (NULL with 1 thread) */
  size_t level0, peak;    /* this interval: blocks held at its start, its peak */
  /* Cumulative counters (read by the main thread while the threads wait). */
  uint64_t ops, frees, xfrees, alloc_bytes, freed_bytes;
  uint64_t held_bytes, held_max; /* bytes in slots; largest this interval */
  uint64_t start_ns, stop_ns;    /* this interval */
} soak_thread_t;

struct soak_worker {
  const soak_opts_t *o;
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  uint64_t gen; /* interval number; a change starts the threads */
  bool quit;
  unsigned stopped; /* threads done with the current interval */
  uint64_t start_ns, interval_ns;
  size_t base, cap;
  unsigned n;
  soak_thread_t *th;
};

static inline uint32_t block_check(uint32_t size) { return (size * 2654435761u) ^ 0x5a0cb10cu; }

static unsigned char *block_new(soak_thread_t *t) {
  uint64_t r = bench_rand(&t->rng);
  uint32_t cls = bench_below((uint32_t)r, 1000), hi = (uint32_t)(r >> 32);
  uint32_t size;
  if (cls < TINY_PERMILLE) {
    size = TINY_MIN + bench_below(hi, TINY_MAX - TINY_MIN + 1);
  } else if (cls < TINY_PERMILLE + MID_PERMILLE) {
    size = TINY_MAX + 1 + bench_below(hi, MID_MAX - TINY_MAX);
  } else {
    size = MID_MAX + 1 + bench_below(hi, LARGE_MAX - MID_MAX);
  }
  unsigned char *p = malloc(size);
  if (__builtin_expect(p == NULL, 0)) bench_die("malloc(%u) failed", size);
  uint32_t c = block_check(size);
  memcpy(p, &size, 4);
  memcpy(p + 4, &c, 4);
  for (uint32_t off = 4096; off < size; off += 4096) p[off] = (unsigned char)(off >> 12);
  p[size - 1] = (unsigned char)(c >> 24);
  t->ops++;
  t->alloc_bytes += size;
  t->held_bytes += size;
  if (t->held_bytes > t->held_max) t->held_max = t->held_bytes;
  return p;
}

/* The size recorded in p's header, after checking the block is intact. */
static uint32_t block_size(const unsigned char *p) {
  uint32_t size, c;
  memcpy(&size, p, 4);
  memcpy(&c, p + 4, 4);
  if (__builtin_expect(size < TINY_MIN || size > LARGE_MAX || c != block_check(size) ||
                           p[size - 1] != (unsigned char)(c >> 24),
                       0)) {
    bench_die("block %p is corrupted (header size %u, check %08x)", (const void *)p, size, c);
  }
  return size;
}

/* free() of a block whose size was read (and checked) by block_size. */
static void block_free_sized(soak_thread_t *t, unsigned char *p, uint32_t size) {
  free(p);
  t->ops++;
  t->frees++;
  t->freed_bytes += size;
}

static void block_free(soak_thread_t *t, unsigned char *p) { block_free_sized(t, p, block_size(p)); }

static bool ring_push(ring_t *r, unsigned char *p) {
  uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  if (tail - atomic_load_explicit(&r->head, memory_order_acquire) == RING_CAP) return false;
  r->buf[tail & (RING_CAP - 1)] = p;
  atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
  return true;
}

/* Frees what the previous thread handed over. */
static void drain(soak_thread_t *t) {
  ring_t *r = t->inbox;
  uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  if (head == tail) return;
  for (uint64_t i = head; i < tail; i++) block_free(t, r->buf[i & (RING_CAP - 1)]);
  t->xfrees += tail - head;
  atomic_store_explicit(&r->head, tail, memory_order_release);
}

static inline void pause_or_yield(unsigned *spins) {
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

/* A block leaves the thread's array: handed over (one in HANDOFF) or freed.
 * With the next thread's ring full, waits for it to drain (draining its own
 * inbox meanwhile: two threads waiting on each other's rings cannot
 * deadlock); only once the interval is over is the block freed here. (Not
 * waiting was tried: on a busy 2-core machine the threads mostly do not run
 * at the same moment, a ring fills in ~0.4 ms, and the share of
 * cross-thread frees fell to ~3% instead of 25%.) The waiting is part of the
 * measured time, as a slow thread is in any multi-threaded run. */
static void release(soak_thread_t *t, unsigned char *p, uint64_t r) {
  uint32_t size = block_size(p);
  t->held_bytes -= size;
  if (t->outbox != NULL && (r >> 32) % HANDOFF == 0) {
    unsigned spins = 0;
    while (!ring_push(t->outbox, p)) {
      drain(t);
      if (bench_now_ns() - t->start_ns >= t->w->interval_ns) {
        block_free_sized(t, p, size);
        return;
      }
      pause_or_yield(&spins);
    }
    return;
  }
  block_free_sized(t, p, size);
}

static inline void step(soak_thread_t *t, size_t target) {
  if (t->n == 0 || t->n < target) {
    t->slots[t->n++] = block_new(t);
    return;
  }
  uint64_t r = bench_rand(&t->rng);
  uint32_t idx = bench_below((uint32_t)r, (uint32_t)t->n);
  unsigned char *victim = t->slots[idx];
  if (t->n > target) {
    t->slots[idx] = t->slots[--t->n];
    release(t, victim, r);
  } else {
    release(t, victim, r);
    t->slots[idx] = block_new(t);
  }
}

/* The target block count at `el` ns into an interval of `len` ns. */
static size_t target_at(const soak_thread_t *t, size_t base, uint64_t el, uint64_t len) {
  double f = (double)el / (double)len, v;
  if (f < 0.4) {
    v = (double)t->level0 + ((double)t->peak - (double)t->level0) * (f / 0.4);
  } else if (f < 0.8) {
    v = (double)t->peak + ((double)base - (double)t->peak) * ((f - 0.4) / 0.4);
  } else {
    v = (double)base;
  }
  return v <= 0 ? 0 : (size_t)(v + 0.5);
}

static void run_interval(soak_thread_t *t, uint64_t start) {
  soak_worker_t *w = t->w;
  const size_t cap = w->cap;
  t->peak = cap / 4 + bench_below((uint32_t)bench_rand(&t->shape_rng), (uint32_t)(cap - cap / 4 + 1));
  t->level0 = t->n;
  t->held_max = t->held_bytes;
  t->start_ns = start;
  const uint64_t len = w->interval_ns;
  uint64_t now;
  while ((now = bench_now_ns()) - start < len) {
    size_t target = target_at(t, w->base, now - start, len);
    if (t->outbox != NULL) drain(t);
    for (int k = 0; k < STEPS_PER_CHECK; k++) step(t, target);
  }
  t->stop_ns = now;
}

static void *thread_main(void *arg) {
  soak_thread_t *t = arg;
  soak_worker_t *w = t->w;
  uint64_t seen = 0;
  for (;;) {
    pthread_mutex_lock(&w->mu);
    while (w->gen == seen && !w->quit) pthread_cond_wait(&w->go, &w->mu);
    bool quit = w->quit;
    uint64_t start = w->start_ns;
    seen = w->gen;
    pthread_mutex_unlock(&w->mu);
    if (quit) break;
    run_interval(t, start);
    pthread_mutex_lock(&w->mu);
    if (++w->stopped == w->n) pthread_cond_signal(&w->done);
    pthread_mutex_unlock(&w->mu);
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Worker: the main thread (sampler) */

static uint64_t rss_kib(void) {
  static long page_kib = 0;
  if (page_kib == 0) page_kib = sysconf(_SC_PAGESIZE) / 1024;
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) bench_die("open /proc/self/statm: %s", strerror(errno));
  ssize_t len = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  unsigned long long size, res;
  if (len <= 0) bench_die("read /proc/self/statm failed");
  buf[len] = '\0';
  if (sscanf(buf, "%llu %llu", &size, &res) != 2) bench_die("cannot parse /proc/self/statm: %s", buf);
  return (uint64_t)res * (uint64_t)page_kib;
}

/* The next command byte from the controller. */
static char read_command(void) {
  char c;
  ssize_t got;
  while ((got = read(STDIN_FILENO, &c, 1)) < 0 && errno == EINTR) {
  }
  if (got != 1) bench_die("worker: the controller closed the command pipe");
  return c;
}

static int worker_main(const soak_opts_t *o) {
  const char *origin = bench_check_malloc(o->worker);
  soak_worker_t w;
  memset(&w, 0, sizeof(w));
  w.o = o;
  w.n = (unsigned)o->threads;
  w.cap = (size_t)o->ws;
  w.base = w.cap / 16;
  w.interval_ns = o->interval * 1000000000ull;
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.go, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w.done, &ca);
  pthread_condattr_destroy(&ca);
  w.th = aligned_alloc(LINE, w.n * sizeof(soak_thread_t));
  ring_t *rings = aligned_alloc(LINE, w.n * sizeof(ring_t));
  if (w.th == NULL || rings == NULL) bench_die("out of memory");
  memset(w.th, 0, w.n * sizeof(soak_thread_t));
  for (unsigned i = 0; i < w.n; i++) {
    soak_thread_t *t = &w.th[i];
    atomic_init(&rings[i].head, 0);
    atomic_init(&rings[i].tail, 0);
    t->w = &w;
    uint64_t s = o->seed + (uint64_t)i * 0xd1b54a32d192ed03ull;
    t->rng = s;
    t->shape_rng = ~s;
    t->slots = calloc(w.cap, sizeof(*t->slots));
    if (t->slots == NULL) bench_die("out of memory for %zu slots", w.cap);
    t->inbox = &rings[i];
    t->outbox = w.n > 1 ? &rings[(i + 1) % w.n] : NULL;
  }
  pthread_t *tids = calloc(w.n, sizeof(*tids));
  if (tids == NULL) bench_die("out of memory");
  for (unsigned i = 0; i < w.n; i++) {
    int err = pthread_create(&tids[i], NULL, thread_main, &w.th[i]);
    if (err != 0) bench_die("pthread_create: %s", strerror(err));
  }

  uint64_t nsamples = o->duration / o->interval, total_ns = 0;
  uint64_t prev_ops = 0, prev_frees = 0, prev_x = 0;
  for (uint64_t k = 1; k <= nsamples; k++) {
    char c = read_command();
    if (c != 'g') bench_die("worker: unexpected command '%c' before interval %llu", c, (unsigned long long)k);
    pthread_mutex_lock(&w.mu);
    w.stopped = 0;
    w.start_ns = bench_now_ns();
    w.gen++;
    pthread_cond_broadcast(&w.go);
    uint64_t start = w.start_ns, rss_max = 0;
    while (w.stopped < w.n) {
      struct timespec dl;
      clock_gettime(CLOCK_MONOTONIC, &dl);
      dl.tv_nsec += (long)POLL_NS;
      if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&w.done, &w.mu, &dl);
      pthread_mutex_unlock(&w.mu);
      uint64_t r = rss_kib();
      if (r > rss_max) rss_max = r;
      pthread_mutex_lock(&w.mu);
    }
    pthread_mutex_unlock(&w.mu);
    uint64_t end = start, ops = 0, frees = 0, x = 0, alloc = 0, freed = 0, held_max = 0;
    for (unsigned i = 0; i < w.n; i++) {
      const soak_thread_t *t = &w.th[i];
      if (t->stop_ns > end) end = t->stop_ns;
      ops += t->ops;
      frees += t->frees;
      x += t->xfrees;
      alloc += t->alloc_bytes;
      freed += t->freed_bytes;
      held_max += t->held_max;
    }
    uint64_t rss = rss_kib();
    if (rss > rss_max) rss_max = rss;
    total_ns += end - start;
    printf(SAMPLE_TAG " k=%llu ns=%llu ops=%llu frees=%llu xfree=%llu rss_kib=%llu rss_max_kib=%llu live=%llu "
                      "live_max=%llu\n",
           (unsigned long long)k, (unsigned long long)(end - start), (unsigned long long)(ops - prev_ops),
           (unsigned long long)(frees - prev_frees), (unsigned long long)(x - prev_x), (unsigned long long)rss,
           (unsigned long long)rss_max, (unsigned long long)(alloc - freed), (unsigned long long)held_max);
    if (fflush(stdout) != 0) bench_die("writing a sample: %s", strerror(errno));
    prev_ops = ops;
    prev_frees = frees;
    prev_x = x;
  }
  char c = read_command();
  if (c != 'q') bench_die("worker: unexpected command '%c' after the last interval", c);
  pthread_mutex_lock(&w.mu);
  w.quit = true;
  pthread_cond_broadcast(&w.go);
  pthread_mutex_unlock(&w.mu);
  for (unsigned i = 0; i < w.n; i++) pthread_join(tids[i], NULL);
  /* Teardown (not measured): every block left, in the arrays and the rings. */
  for (unsigned i = 0; i < w.n; i++) {
    soak_thread_t *t = &w.th[i];
    for (size_t j = 0; j < t->n; j++) block_free(t, t->slots[j]);
    drain(t);
    free(t->slots);
  }
  uint64_t alloc = 0, freed = 0;
  for (unsigned i = 0; i < w.n; i++) {
    alloc += w.th[i].alloc_bytes;
    freed += w.th[i].freed_bytes;
  }
  if (alloc != freed) {
    bench_die("accounting: %llu bytes allocated, %llu freed", (unsigned long long)alloc, (unsigned long long)freed);
  }
  free(tids);
  free(rings);
  free(w.th);
  printf(RESULT_TAG " ops=%llu ns=%llu threads=%llu malloc=%s\n", (unsigned long long)prev_ops,
         (unsigned long long)total_ns, (unsigned long long)o->threads, origin);
  if (fflush(stdout) != 0) bench_die("writing the result: %s", strerror(errno));
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Controller */

typedef struct sample {
  double t;           /* seconds of work up to the end of this interval */
  double ops_per_sec; /* of this interval */
  uint64_t ops, frees, xfree, rss_kib, rss_max_kib, live, live_max;
} sample_t;

typedef struct series {
  const char *alloc, *profile; /* profile: hakmem only, NULL: the environment's */
  char name[48];               /* "glibc", "hakmem LEGACY" */
  bench_child_t ch;
  FILE *out;
  bool running, failed;
  char error[192];
  sample_t *s;
  size_t ns;
  long maxrss_kib;
} series_t;

typedef struct stats {
  double ops_med, ops_mad, ops_mid, ops_end, ops_drift; /* drift: NAN when undefined */
  double rss_mid, rss_end, rss_drift;
  uint64_t rss_max, live_max, live_end, ops, frees, xfree;
  double secs;
} stats_t;

static stats_t stats_of(const series_t *st) {
  stats_t s;
  memset(&s, 0, sizeof(s));
  size_t n = st->ns;
  s.ops_med = s.ops_mad = s.ops_mid = s.ops_end = s.ops_drift = NAN;
  s.rss_mid = s.rss_end = s.rss_drift = NAN;
  if (n == 0) return s;
  double *ops = malloc(n * sizeof(double)), *rss = malloc(n * sizeof(double)), *dev = malloc(n * sizeof(double));
  if (ops == NULL || rss == NULL || dev == NULL) bench_die("out of memory");
  for (size_t i = 0; i < n; i++) {
    const sample_t *x = &st->s[i];
    ops[i] = x->ops_per_sec;
    rss[i] = (double)x->rss_kib;
    if (x->rss_max_kib > s.rss_max) s.rss_max = x->rss_max_kib;
    if (x->live_max > s.live_max) s.live_max = x->live_max;
    s.ops += x->ops;
    s.frees += x->frees;
    s.xfree += x->xfree;
  }
  s.secs = st->s[n - 1].t;
  s.live_end = st->s[n - 1].live;
  s.ops_med = bench_median_copy(ops, 0, n);
  for (size_t i = 0; i < n; i++) dev[i] = fabs(ops[i] - s.ops_med);
  s.ops_mad = bench_median_copy(dev, 0, n);
  size_t mlo = n / 4, mhi = (3 * n + 3) / 4, tail = (n + 9) / 10;
  s.ops_mid = bench_median_copy(ops, mlo, mhi);
  s.rss_mid = bench_median_copy(rss, mlo, mhi);
  s.ops_end = bench_median_copy(ops, n - tail, n);
  s.rss_end = rss[n - 1];
  if (s.ops_mid > 0) s.ops_drift = s.ops_end / s.ops_mid - 1.0;
  if (s.rss_mid > 0) s.rss_drift = s.rss_end / s.rss_mid - 1.0;
  free(ops);
  free(rss);
  free(dev);
  return s;
}

static void series_fail(series_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void series_fail(series_t *st, const char *fmt, ...) {
  if (!st->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->error, sizeof(st->error), fmt, ap);
    va_end(ap);
    st->failed = true;
  }
}

/* Reaps a worker that is done or has failed (killing it in the latter case)
 * and records its peak RSS and, if it did not exit 0, why. */
static void series_reap(series_t *st) {
  if (!st->running) return;
  st->running = false;
  bool killed = st->failed;
  if (killed) kill(st->ch.pid, SIGKILL);
  close(st->ch.in_fd);
  fclose(st->out);
  int status;
  struct rusage ru;
  pid_t wp;
  while ((wp = wait4(st->ch.pid, &status, 0, &ru)) < 0 && errno == EINTR) {
  }
  if (wp < 0) bench_die("wait4: %s", strerror(errno));
  st->maxrss_kib = ru.ru_maxrss;
  /* How the worker ended explains more than the missing line: it wins. */
  char why[64] = "";
  if (WIFSIGNALED(status) && !(killed && WTERMSIG(status) == SIGKILL)) {
    snprintf(why, sizeof(why), "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(status));
  }
  if (why[0] != '\0') {
    snprintf(st->error, sizeof(st->error), "%s after %zu interval%s", why, st->ns, st->ns == 1 ? "" : "s");
    st->failed = true;
  }
}

/* Sends cmd, then reads the worker's lines up to the one starting with tag
 * (returned in *line, owned by the caller) or EOF (false). Other lines go
 * to stderr. */
static bool command(series_t *st, char cmd, const char *tag, char **line) {
  if (write(st->ch.in_fd, &cmd, 1) != 1) {
    series_fail(st, "cannot write to the worker: %s", strerror(errno));
    return false;
  }
  size_t cap = 0;
  *line = NULL;
  size_t tl = strlen(tag);
  while (getline(line, &cap, st->out) > 0) {
    if (strncmp(*line, tag, tl) == 0 && (*line)[tl] == ' ') return true;
    fputs(*line, stderr);
  }
  free(*line);
  *line = NULL;
  series_fail(st, "the worker stopped without a %s line", tag);
  return false;
}

/* Runs interval k (1-based) of a series; false when it failed. */
static bool run_interval_of(series_t *st, uint64_t k) {
  char *line;
  if (!command(st, 'g', SAMPLE_TAG, &line)) {
    series_reap(st);
    return false;
  }
  unsigned long long kk, ns, ops, frees, xfree, rss, rssmax, live, livemax;
  int got = sscanf(line,
                   SAMPLE_TAG " k=%llu ns=%llu ops=%llu frees=%llu xfree=%llu rss_kib=%llu rss_max_kib=%llu "
                              "live=%llu live_max=%llu",
                   &kk, &ns, &ops, &frees, &xfree, &rss, &rssmax, &live, &livemax);
  free(line);
  if (got != 9 || kk != k || ns == 0) {
    series_fail(st, "bad sample line for interval %llu", (unsigned long long)k);
    series_reap(st);
    return false;
  }
  sample_t *s = &st->s[st->ns];
  s->t = (st->ns ? st->s[st->ns - 1].t : 0.0) + (double)ns / 1e9;
  s->ops_per_sec = (double)ops * 1e9 / (double)ns;
  s->ops = ops;
  s->frees = frees;
  s->xfree = xfree;
  s->rss_kib = rss;
  s->rss_max_kib = rssmax;
  s->live = live;
  s->live_max = livemax;
  st->ns++;
  return true;
}

/* After the last interval: teardown and the result line. */
static void finish(series_t *st) {
  if (!st->running) return;
  char *line;
  if (command(st, 'q', RESULT_TAG, &line)) {
    free(line);
    char *rest = NULL;
    size_t cap = 0;
    while (getline(&rest, &cap, st->out) > 0) fputs(rest, stderr);
    free(rest);
  }
  series_reap(st);
}

static void progress(const series_t *st, uint64_t k, uint64_t n) {
  const sample_t *s = &st->s[st->ns - 1];
  fprintf(stderr, "\r\033[K[soak] %llu/%llu %s %.2f M op/s, RSS %.1f MiB", (unsigned long long)k,
          (unsigned long long)n, st->name, s->ops_per_sec / 1e6, (double)s->rss_kib / 1024.0);
}

static double mib(uint64_t kib) { return (double)kib / 1024.0; }

static void fmt_drift(char *buf, size_t cap, double d) {
  if (isnan(d)) {
    snprintf(buf, cap, "-");
  } else {
    snprintf(buf, cap, "%+.1f%%", 100.0 * d);
  }
}

#define GROUP_W 31 /* " %7s %7s %7s %7s" */

static void print_report(FILE *f, const soak_opts_t *o, series_t *sts, size_t n, const stats_t *sum,
                         double glibc_med) {
  uint64_t nsamples = o->duration / o->interval;
  fprintf(f,
          "soak: %llu s per series (%llu samples, one every %llu s) x %llu thread%s, ws %llu blocks/thread "
          "(base %llu), seed %llu, %s\n",
          (unsigned long long)o->duration, (unsigned long long)nsamples, (unsigned long long)o->interval,
          (unsigned long long)o->threads, o->threads == 1 ? "" : "s", (unsigned long long)o->ws,
          (unsigned long long)(o->ws / 16), (unsigned long long)o->seed,
          o->sequential ? "series one after another" : "series interleaved interval by interval");
  fprintf(f, "sizes: 90%% 16..1024 B, 9%% 1025..32768 B, 1%% 32769..262144 B; %s\n",
          o->threads > 1 ? "1 in 4 frees handed to the next thread" : "1 thread: no cross-thread frees");
  fprintf(f, "op = %s\n", SOAK_OP);
  fprintf(f, "Mop/s: malloc+free calls per second in the interval; RSS: at its end (working set back at its "
             "base); RSSmax: largest RSS polled every 100 ms in it; live: bytes held at its end; MiB\n\n");
  fprintf(f, "%7s |", "");
  for (size_t i = 0; i < n; i++) {
    int len = (int)strlen(sts[i].name), pad = (GROUP_W - len) / 2;
    if (pad < 0) pad = 0;
    fprintf(f, "%*s%-*s |", pad, "", GROUP_W - pad, sts[i].name);
  }
  fprintf(f, "\n%7s |", "t (s)");
  for (size_t i = 0; i < n; i++) fprintf(f, " %7s %7s %7s %7s |", "Mop/s", "RSS", "RSSmax", "live");
  fputc('\n', f);
  for (uint64_t k = 0; k < nsamples; k++) {
    fprintf(f, "%7llu |", (unsigned long long)((k + 1) * o->interval));
    for (size_t i = 0; i < n; i++) {
      if (k >= sts[i].ns) {
        fprintf(f, " %7s %7s %7s %7s |", "-", "-", "-", "-");
        continue;
      }
      const sample_t *s = &sts[i].s[k];
      fprintf(f, " %7.2f %7.1f %7.1f %7.1f |", s->ops_per_sec / 1e6, mib(s->rss_kib), mib(s->rss_max_kib),
              (double)s->live / 1048576.0);
    }
    fputc('\n', f);
  }
  int width = 6;
  for (size_t i = 0; i < n; i++) {
    if ((int)strlen(sts[i].name) > width) width = (int)strlen(sts[i].name);
  }
  fprintf(f, "\n%-*s %12s %17s %8s %10s %10s %10s %12s\n", width, "series", "median op/s", "MAD", "vs glibc",
          "RSSmax", "peak RSS", "live max", "x-thr frees");
  for (size_t i = 0; i < n; i++) {
    const stats_t *s = &sum[i];
    if (sts[i].ns == 0) {
      fprintf(f, "%-*s FAILED: %s\n", width, sts[i].name, sts[i].error);
      continue;
    }
    char med[24], mad[40], ratio[16], x[16];
    snprintf(med, sizeof(med), "%.2f M", s->ops_med / 1e6);
    snprintf(mad, sizeof(mad), "+-%.2f M (%.1f%%)", s->ops_mad / 1e6, 100.0 * s->ops_mad / s->ops_med);
    if (glibc_med > 0) {
      snprintf(ratio, sizeof(ratio), "%.2fx", s->ops_med / glibc_med);
    } else {
      snprintf(ratio, sizeof(ratio), "-");
    }
    snprintf(x, sizeof(x), "%.1f%%", s->frees ? 100.0 * (double)s->xfree / (double)s->frees : 0.0);
    fprintf(f, "%-*s %12s %17s %8s %6.1f MiB %6.1f MiB %6.1f MiB %12s", width, sts[i].name, med, mad, ratio,
            mib(s->rss_max), (double)sts[i].maxrss_kib / 1024.0, (double)s->live_max / 1048576.0, x);
    if (sts[i].failed) fprintf(f, "  (FAILED after %zu samples: %s)", sts[i].ns, sts[i].error);
    fputc('\n', f);
  }
  fputc('\n', f);
  for (size_t i = 0; i < n; i++) {
    const stats_t *s = &sum[i];
    if (sts[i].ns == 0) continue;
    char rd[16], od[16];
    fmt_drift(rd, sizeof(rd), s->rss_drift);
    fmt_drift(od, sizeof(od), s->ops_drift);
    fprintf(f,
            "verdict %s: RSS drift %s (end %.1f MiB vs middle median %.1f MiB), ops/s drift %s (end %.2f M vs "
            "middle median %.2f M)%s\n",
            sts[i].name, rd, s->rss_end / 1024.0, s->rss_mid / 1024.0, od, s->ops_end / 1e6, s->ops_mid / 1e6,
            sts[i].failed ? " [FAILED run]" : "");
  }
}

static void print_json(FILE *f, const soak_opts_t *o, series_t *sts, size_t n, const stats_t *sum,
                       double glibc_med) {
  for (size_t i = 0; i < n; i++) {
    const series_t *st = &sts[i];
    const stats_t *s = &sum[i];
    const char *prof = st->profile;
    if (strcmp(st->alloc, "hakmem") == 0 && prof == NULL) {
      const char *e = getenv("HAKMEM_TINY_HEAP_PROFILE");
      prof = (e && *e) ? e : "LEGACY";
    }
    fputs("{\"benchmark\":\"soak\",\"allocator\":", f);
    bench_json_str(f, st->alloc);
    fputs(",\"profile\":", f);
    bench_json_str(f, prof);
    fputs(",\"variant\":null,\"variant_env\":null,\"arch\":\"" SOAK_ARCH "\",\"op\":", f);
    bench_json_str(f, SOAK_OP);
    fprintf(f, ",\"threads\":%llu,\"seed\":%llu,\"ws\":%llu,\"duration_s\":%llu,\"interval_s\":%llu,\"order\":\"%s\"",
            (unsigned long long)o->threads, (unsigned long long)o->seed, (unsigned long long)o->ws,
            (unsigned long long)o->duration, (unsigned long long)o->interval,
            o->sequential ? "sequential" : "interleaved");
    fputs(",\"samples\":[", f);
    for (size_t k = 0; k < st->ns; k++) {
      const sample_t *x = &st->s[k];
      fprintf(f,
              "%s{\"t\":%.3f,\"ops\":%.0f,\"rss_kib\":%llu,\"rss_max_kib\":%llu,\"live_kib\":%llu,"
              "\"live_max_kib\":%llu,\"xfree\":%llu,\"frees\":%llu}",
              k ? "," : "", x->t, x->ops_per_sec, (unsigned long long)x->rss_kib,
              (unsigned long long)x->rss_max_kib, (unsigned long long)(x->live / 1024),
              (unsigned long long)(x->live_max / 1024), (unsigned long long)x->xfree, (unsigned long long)x->frees);
    }
    fputc(']', f);
    bench_json_num(f, "median_ops_per_sec", s->ops_med, "%.0f");
    bench_json_num(f, "mad_ops_per_sec", s->ops_mad, "%.0f");
    bench_json_num(f, "ratio_to_glibc", (glibc_med > 0 && st->ns > 0) ? s->ops_med / glibc_med : NAN, "%.4f");
    bench_json_num(f, "ops_mid", s->ops_mid, "%.0f");
    bench_json_num(f, "ops_end", s->ops_end, "%.0f");
    bench_json_num(f, "ops_drift", s->ops_drift, "%.4f");
    bench_json_num(f, "rss_mid_kib", s->rss_mid, "%.0f");
    bench_json_num(f, "rss_end_kib", s->rss_end, "%.0f");
    bench_json_num(f, "rss_drift", s->rss_drift, "%.4f");
    fprintf(f, ",\"max_rss_kib\":%llu,\"peak_rss_kib\":%ld,\"failed_runs\":%d", (unsigned long long)s->rss_max,
            st->maxrss_kib, st->failed ? 1 : 0);
    if (st->failed) {
      fputs(",\"error\":", f);
      bench_json_str(f, st->error);
    }
    fputs("}\n", f);
  }
}

static int controller_main(const soak_opts_t *o, const char *argv0) {
  signal(SIGPIPE, SIG_IGN); /* a dead worker: write() fails instead */
  series_t sts[MAX_SERIES];
  size_t n = 0;
  memset(sts, 0, sizeof(sts));
  uint64_t nsamples = o->duration / o->interval;
  for (size_t i = 0; i < o->nallocs; i++) {
    bool hk = strcmp(o->allocs[i], "hakmem") == 0;
    size_t np = (hk && o->nprofiles) ? o->nprofiles : 1;
    for (size_t k = 0; k < np; k++) {
      series_t *st = &sts[n++];
      st->alloc = o->allocs[i];
      st->profile = (hk && o->nprofiles) ? o->profiles[k] : NULL;
      snprintf(st->name, sizeof(st->name), "%s%s%s", st->alloc, st->profile ? " " : "",
               st->profile ? st->profile : "");
      st->s = calloc((size_t)nsamples, sizeof(sample_t));
      if (st->s == NULL) bench_die("out of memory");
    }
  }

  FILE *json = NULL;
  char *jpath = NULL;
  if (o->json != NULL && (json = bench_json_open(o->json, &jpath)) == NULL) return 1;

  /* Every worker first (a missing library fails before any interval). */
  char a_dur[32], a_int[32], a_thr[32], a_seed[40], a_ws[32];
  snprintf(a_dur, sizeof(a_dur), "--duration=%llu", (unsigned long long)o->duration);
  snprintf(a_int, sizeof(a_int), "--interval=%llu", (unsigned long long)o->interval);
  snprintf(a_thr, sizeof(a_thr), "--threads=%llu", (unsigned long long)o->threads);
  snprintf(a_seed, sizeof(a_seed), "--seed=%llu", (unsigned long long)o->seed);
  snprintf(a_ws, sizeof(a_ws), "--ws=%llu", (unsigned long long)o->ws);
  for (size_t i = 0; i < n; i++) {
    series_t *st = &sts[i];
    char a_worker[40];
    snprintf(a_worker, sizeof(a_worker), "--worker=%s", st->alloc);
    char *args[] = {a_worker, a_dur, a_int, a_thr, a_seed, a_ws, NULL};
    if (bench_spawn(st->alloc, st->profile, argv0, args, o->verbose, &st->ch) != 0) {
      for (size_t j = 0; j < i; j++) {
        series_fail(&sts[j], "not run");
        series_reap(&sts[j]);
      }
      if (jpath != NULL) {
        fclose(json);
        unlink(jpath);
      }
      free(jpath);
      return 1;
    }
    st->out = fdopen(st->ch.out_fd, "r");
    if (st->out == NULL) bench_die("fdopen: %s", strerror(errno));
    st->running = true;
  }

  bool tty = isatty(STDERR_FILENO);
  if (o->sequential) {
    for (size_t i = 0; i < n; i++) {
      for (uint64_t k = 1; k <= nsamples && sts[i].running; k++) {
        if (run_interval_of(&sts[i], k) && tty) progress(&sts[i], k, nsamples);
      }
      finish(&sts[i]);
    }
  } else {
    for (uint64_t k = 1; k <= nsamples; k++) {
      for (size_t i = 0; i < n; i++) {
        if (sts[i].running && run_interval_of(&sts[i], k) && tty) progress(&sts[i], k, nsamples);
      }
    }
    for (size_t i = 0; i < n; i++) finish(&sts[i]);
  }
  if (tty) fputs("\r\033[K", stderr);
  for (size_t i = 0; i < n; i++) {
    if (sts[i].failed) fprintf(stderr, "%s: %s worker failed: %s\n", g_prog, sts[i].name, sts[i].error);
  }

  stats_t sum[MAX_SERIES];
  double glibc_med = 0;
  for (size_t i = 0; i < n; i++) {
    sum[i] = stats_of(&sts[i]);
    if (strcmp(sts[i].alloc, "glibc") == 0 && sts[i].ns > 0 && !sts[i].failed) glibc_med = sum[i].ops_med;
  }
  FILE *table = json == stdout ? stderr : stdout;
  print_report(table, o, sts, n, sum, glibc_med);
  fflush(table);
  int rc = 0;
  if (json != NULL) {
    print_json(json, o, sts, n, sum, glibc_med);
    if (json != stdout) {
      if (ferror(json) | (fclose(json) != 0)) {
        fprintf(stderr, "%s: --json: writing %s failed: %s\n", g_prog, jpath, strerror(errno));
        rc = 1;
      }
    } else {
      fflush(stdout);
    }
  }
  free(jpath);
  for (size_t i = 0; i < n; i++) {
    rc |= sts[i].failed ? 1 : 0;
    free(sts[i].s);
  }
  return rc;
}

int main(int argc, char **argv) {
  bench_program(argc, argv);
  const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
  g_prog = slash ? slash + 1 : (argc > 0 ? argv[0] : "soak");
  soak_opts_t o;
  bool help;
  int rc = parse_cmdline(&o, argc, argv, &help);
  if (rc != 0) return rc;
  if (help) {
    usage(stdout);
    return 0;
  }
  if (o.worker != NULL) return worker_main(&o);
  return controller_main(&o, argc > 0 ? argv[0] : "soak");
}
