/* benchmarks/driver.h — the common part of HAKMEM's workload drivers.
 *
 * A driver (mixed.c, fixed_size.c, ...) describes its workload in a
 * bench_workload_t and calls bench_main() from main(). bench_main() parses the
 * common flags, then, as the "controller", re-executes the driver's own
 * binary once per (series, run) — interleaved A B C A B C ... — with the
 * internal flag --worker=ALLOCATOR and the environment that selects the
 * allocator:
 *   glibc     no LD_PRELOAD
 *   hakmem    LD_PRELOAD=libhakmem.so (found in the runfiles, see driver.c),
 *             HAKMEM_TINY_HEAP_PROFILE=<profile> when --profile is given
 *   mimalloc  LD_PRELOAD=/usr/lib/<triplet>/libmimalloc.so.2
 *   jemalloc  LD_PRELOAD=/usr/lib/<triplet>/libjemalloc.so.2
 *   tcmalloc  LD_PRELOAD=/usr/lib/<triplet>/libtcmalloc_minimal.so.4
 * A series is one table row: each peer once; hakmem once per profile of
 * --profile=LIST (comma list, case-insensitive, duplicates dropped; once
 * with the inherited environment when absent), then once per
 * --variant=LABEL:VAR=VAL[,VAR=VAL...] (repeatable; LABEL [A-Za-z0-9_.-]+,
 * unique; VAR HAKMEM_*, not HAKMEM_TINY_HEAP_PROFILE), shown as
 * hakmem:LABEL, whose workers run with the FIRST profile of the list (or
 * none) and these variables added to (replacing) the inherited environment.
 * The worker checks that malloc really comes from the requested allocator,
 * runs the workload, and prints one line on stdout:
 *   hakmem-bench-result ops=<N> ns=<elapsed ns> threads=<T> callgrind=<0|1>
 *     malloc=<path> peak_rss_kib=<VmHWM of the worker itself>
 * The controller reads it through a pipe and takes the worker's peak RSS
 * from wait4() (tools/gate.py, a large Python parent, takes peak_rss_kib:
 * ru_maxrss would include the parent's pages forked before exec). The
 * pieces every driver shares (clock, flags, statistics, JSON) are in
 * bench_util.h. It prints a table (series, profile, median ops/s, spread,
 * ratio to glibc, peak RSS) and, with --json=FILE, one JSON object per series
 * per line ("allocator", "profile", "variant": LABEL or null, "variant_env":
 * {VAR: VAL} or null, the runs and their summary).
 *
 * Timing: clock_gettime(CLOCK_MONOTONIC) around the measured loop only
 * (setup and teardown are outside). With --threads=N > 1 every thread runs
 * the loop on its own; the clock runs from a barrier that releases all
 * threads to a barrier they reach when done, and ops is the sum.
 *
 * Timed workloads (.timed: larson, xthread) run for a time instead of a
 * fixed count: --seconds=S (default .defaults.duration_ns; decimals allowed)
 * ends the run, --iters=N (default none) caps each thread's work, and the
 * run ends at whichever comes first. --iters given without --seconds makes
 * the run work-bounded (exactly N per thread, no clock: what the regression
 * gate and callgrind use); --seconds=0 is "no time limit". Their threads
 * always run apart from the main thread, which sleeps until every thread is
 * done or the time is up, then raises the stop flag that run() polls with
 * bench_stopped() and waits for the threads at the end barrier; elapsed time
 * and ops cover everything the threads did until then. The controller passes
 * --seconds (and --iters when set) to every worker. A workload may also
 * declare its own numeric flags (.params, e.g. larson's --rounds: values in
 * opts.param[], passed on to the workers, shown in the table title and as
 * "params" in the JSON), positional arguments that stand for flags
 * (.positional: larson's customary "seconds min max chunks rounds seed
 * threads"), and more than one thread per --threads (.thread_factor: xthread
 * runs a producer and a consumer per unit, thread index 0..N-1 and N..2N-1).
 * Under valgrind --tool=callgrind the measured region is bracketed by
 * CALLGRIND_ZERO_STATS / CALLGRIND_DUMP_STATS_AT (no-ops otherwise), so
 * instructions per op come from one worker run (--verbose prints the exact
 * worker command of each run):
 *   LD_PRELOAD=$PWD/bazel-bin/hakmem/libhakmem.so valgrind --tool=callgrind \
 *     --callgrind-out-file=cg.out bazel-bin/benchmarks/mixed --worker=hakmem --iters=1000000
 * cg.out.1 holds the loop only ("summary:" = Ir; divide by iters x threads);
 * cg.out the rest of the process.
 *
 * Exit status: 0 ok, 1 a run failed (worker crashed, library missing, JSON
 * not writable), 2 bad command line. */
#ifndef HAKMEM_BENCHMARKS_DRIVER_H
#define HAKMEM_BENCHMARKS_DRIVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_PARAMS 4     /* a workload's own numeric flags */
#define BENCH_MAX_POSITIONAL 8 /* positional arguments a workload accepts */

/* Parsed command line (values are already defaulted and validated). */
typedef struct bench_opts {
  uint64_t iters;   /* loop iterations per thread (timed workloads: a cap, 0 = none) */
  uint64_t ws;      /* working-set slots per thread */
  uint64_t threads; /* worker threads (1 = the main thread runs the loop) */
  uint64_t seed;    /* PRNG seed */
  uint64_t min;     /* smallest request, bytes */
  uint64_t max;     /* largest request, bytes */
  uint64_t runs;    /* runs per series */
  uint64_t duration_ns;             /* timed workloads: --seconds (0 = no time limit) */
  uint64_t param[BENCH_MAX_PARAMS]; /* the workload's own flags, in .params order */
} bench_opts_t;

/* One thread of a worker. */
typedef struct bench_thread {
  const bench_opts_t *opts;
  unsigned index;   /* 0 .. threads x thread_factor - 1 */
  uint64_t seed;    /* per-thread seed derived from opts->seed and index */
  void *shared;     /* what the workload's init() returned (may be NULL) */
  void *state;      /* the workload's per-thread state, set by setup() */
  uint64_t ops;     /* out: operations done by run() */
  const atomic_bool *stop; /* raised when a timed run's time is up (bench_stopped) */
} bench_thread_t;

/* A workload's own numeric flag --NAME=N (e.g. larson's --rounds). */
typedef struct bench_param {
  const char *name; /* without the dashes; NULL ends the list */
  const char *help; /* one line for --help */
  uint64_t def, lo, hi;
} bench_param_t;

typedef struct bench_workload {
  const char *name;    /* "mixed": shown in the table, JSON and --help */
  const char *summary; /* one line for --help */
  const char *op;      /* exactly what one counted operation is */
  bench_opts_t defaults; /* .runs is ignored (always 5) */
  /* Optional: extra validation of the options. Return NULL if fine, else a
   * message (shown with the usage, exit 2). */
  const char *(*check)(const bench_opts_t *o);
  /* Optional: once per worker process, before the threads start. */
  void *(*init)(const bench_opts_t *o);
  /* Per thread, not timed: allocate the thread's state into t->state. */
  void (*setup)(bench_thread_t *t);
  /* Per thread, timed: the measured loop; sets t->ops. */
  void (*run)(bench_thread_t *t);
  /* Per thread, not timed: free what is left, release t->state. */
  void (*teardown)(bench_thread_t *t);
  /* Optional: once per worker process, after the threads are done. */
  void (*fini)(void *shared);
  /* Optional (zero: off). A timed workload (see the top of this file):
   * --seconds applies, .defaults.duration_ns is its default and
   * .defaults.iters should be 0 (no cap); run() polls bench_stopped(). */
  bool timed;
  /* Worker threads per --threads (0 means 1), and what --threads counts in
   * the table title (singular noun; NULL: "thread"). */
  unsigned thread_factor;
  const char *thread_unit;
  /* What --ws is for this workload, for --help (NULL: working-set slots per
   * thread). */
  const char *ws_help;
  /* The workload's own numeric flags (name NULL ends the list). */
  bench_param_t params[BENCH_MAX_PARAMS];
  /* Positional arguments, in order, stand for these flags (names without
   * dashes: "seconds", "iters", "ws", "threads", "seed", "min", "max" or a
   * param's name; NULL ends the list). */
  const char *positional[BENCH_MAX_POSITIONAL];
} bench_workload_t;

/* The whole program: returns the exit status for main(). */
int bench_main(int argc, char **argv, const bench_workload_t *w);

/* splitmix64: the drivers' PRNG (fast, good enough, reproducible). */
static inline uint64_t bench_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n) from 32 random bits, without a division. */
static inline uint32_t bench_below(uint32_t bits, uint32_t n) {
  return (uint32_t)(((uint64_t)bits * n) >> 32);
}

/* In a timed workload's run(): true once the run's time is up (never in a
 * run without a time limit). One relaxed load of a flag written once: poll
 * it every few dozen operations. */
static inline bool bench_stopped(const bench_thread_t *t) {
  return atomic_load_explicit(t->stop, memory_order_relaxed);
}

/* Prints "<name>: <message>" on stderr and exits 1 (for failures inside a
 * worker, e.g. malloc returning NULL). */
void bench_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Worker side: reports one more number of this run (e.g. RSS at some point
 * of the workload) as a line "hakmem-bench-metric NAME=VALUE" on stdout.
 * NAME: [A-Za-z0-9_.+-]{1,31}; at most 16 names per driver. The controller
 * prints a second table, one column per NAME in the order first reported,
 * each the median over the runs, and adds "metrics":{"NAME":[per run],...}
 * to the JSON. A driver that reports none prints exactly what it did
 * without them. */
void bench_metric(const char *name, double value);

/* ---- Building blocks for a driver with its own controller (soak.c: one
 * long-lived worker per series, driven interval by interval through its
 * stdin, samples streamed on its stdout). bench_main() does not use them;
 * they share its allocator table, library lookup and worker environment. */

/* Sets the program name of messages and finds this binary (/proc/self/exe).
 * Call first. */
void bench_program(int argc, char **argv);

/* The canonical name of allocator / HAKMEM profile s[0..len) (profiles
 * case-insensitive), or NULL when unknown. */
const char *bench_allocator_name(const char *s, size_t len);
const char *bench_profile_name(const char *s, size_t len);

/* A worker started by bench_spawn: write to in_fd (its stdin), read from
 * out_fd (its stdout); its stderr is ours. */
typedef struct bench_child {
  int pid;
  int in_fd, out_fd;
} bench_child_t;

/* Starts this binary as a worker of `allocator` with argv = {exe, args...}
 * (args NULL-terminated) in bench_main's worker environment: LD_PRELOAD of
 * the allocator's library (hakmem: libhakmem.so from the runfiles of argv0,
 * see driver.c), HAKMEM_TINY_HEAP_PROFILE=profile when profile is not NULL,
 * HAKMEM_RUN_UNDER honoured as for bench_main. With verbose, prints the
 * command on stderr ("<prog>: worker: ENV... ARGV..."). Returns 0, or -1
 * after printing why on stderr (library missing: what to install). The
 * caller reaps the child (wait4). SIGPIPE is left at its default in it. */
int bench_spawn(const char *allocator, const char *profile, const char *argv0, char *const *args, bool verbose,
                bench_child_t *child);

/* In a worker: dies unless malloc comes from `allocator`; returns the path
 * of the object that defines malloc. */
const char *bench_check_malloc(const char *allocator);

/* --json=ARG: stdout for "-", else ARG (relative to where `bazel run` was
 * started) opened for writing, its path in *path (free it). NULL after a
 * message on stderr when it cannot be written. */
FILE *bench_json_open(const char *arg, char **path);

#endif /* HAKMEM_BENCHMARKS_DRIVER_H */
