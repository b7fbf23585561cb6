/* benchmarks/driver.c — flag parsing, the controller (one worker process per
 * series and run: an allocator, or hakmem under one profile or variant), the
 * worker (threads, timing) and the report. See driver.h for the protocol. */
#define _GNU_SOURCE
#include "benchmarks/driver.h"

#include "benchmarks/bench_util.h"

#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_HAVE_CALLGRIND 1
#endif
#endif
#ifndef BENCH_HAVE_CALLGRIND
#define BENCH_HAVE_CALLGRIND 0
#define CALLGRIND_ZERO_STATS ((void)0)
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

extern char **environ;

#if defined(__x86_64__)
#define BENCH_ARCH "x86_64"
#define BENCH_TRIPLET "x86_64-linux-gnu"
#define BENCH_DEB_ARCH ""
#elif defined(__aarch64__)
#define BENCH_ARCH "aarch64"
#define BENCH_TRIPLET "aarch64-linux-gnu"
#define BENCH_DEB_ARCH ":arm64"
#else
#error "benchmarks/driver.c: add this architecture's Debian multiarch triplet"
#endif
#define BENCH_LIBDIR "/usr/lib/" BENCH_TRIPLET

#define RESULT_TAG "hakmem-bench-result"
#define METRIC_TAG "hakmem-bench-metric" /* bench_metric() lines */
#define MAX_METRICS 16
#define METRIC_NAME_MAX 32
#define MAX_ALLOCS 5
#define MAX_RUNS 1000
#define MAX_SECONDS 86400 /* --seconds */

/* ------------------------------------------------------------------------ */
/* Allocators */

typedef struct alloc_info {
  const char *name;
  const char *lib;       /* LD_PRELOAD path; NULL: glibc (none) or hakmem (runfiles) */
  const char *lib_match; /* substring of the path of the object defining malloc */
  const char *package;   /* what to install when lib is missing */
} alloc_info_t;

static const alloc_info_t k_allocs[MAX_ALLOCS] = {
    {"hakmem", NULL, "libhakmem", "bazel build //hakmem:libhakmem.so"},
    {"glibc", NULL, "libc.so", NULL},
    {"mimalloc", BENCH_LIBDIR "/libmimalloc.so.2", "libmimalloc",
     "the Debian package libmimalloc2.0" BENCH_DEB_ARCH " (apt-get install libmimalloc2.0" BENCH_DEB_ARCH ")"},
    {"jemalloc", BENCH_LIBDIR "/libjemalloc.so.2", "libjemalloc",
     "the Debian package libjemalloc2" BENCH_DEB_ARCH " (apt-get install libjemalloc2" BENCH_DEB_ARCH ")"},
    {"tcmalloc", BENCH_LIBDIR "/libtcmalloc_minimal.so.4", "libtcmalloc",
     "the Debian package libtcmalloc-minimal4" BENCH_DEB_ARCH " (apt-get install libtcmalloc-minimal4" BENCH_DEB_ARCH ")"},
};

static const char *const k_profiles[] = {"LEGACY", "C7_SAFE", "C7_ULTRA_BENCH", "CUSTOM"};
#define NPROFILES (sizeof(k_profiles) / sizeof(k_profiles[0]))

/* --variant=LABEL:VAR=VAL[,VAR=VAL...]: an extra hakmem series. */
#define MAX_VARIANTS 16
#define MAX_VARIANT_VARS 16
/* Series: the peers once each, hakmem once per profile and once per variant. */
#define MAX_SERIES (MAX_ALLOCS - 1 + NPROFILES + MAX_VARIANTS)

static const alloc_info_t *find_alloc(const char *name, size_t len) {
  for (size_t i = 0; i < MAX_ALLOCS; i++) {
    if (strlen(k_allocs[i].name) == len && strncmp(k_allocs[i].name, name, len) == 0) return &k_allocs[i];
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Small helpers */

static const char *g_prog = "bench";

void bench_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", g_prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static bool metric_name_char(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
         ch == '.' || ch == '+' || ch == '-';
}

void bench_metric(const char *name, double value) {
  size_t n = strlen(name);
  bool ok = n > 0 && n < METRIC_NAME_MAX;
  for (size_t i = 0; i < n; i++) ok &= metric_name_char(name[i]);
  if (!ok) bench_die("bench_metric: bad metric name \"%s\"", name);
  printf(METRIC_TAG " %s=%.17g\n", name, value);
}

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Copies s into a fresh heap string (controller only). */
static char *xstrdup(const char *s) {
  char *d = strdup(s);
  if (d == NULL) bench_die("out of memory");
  return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) bench_die("out of memory");
  return s;
}

/* ------------------------------------------------------------------------ */
/* Command line */

typedef struct variant {
  char *label;                  /* [A-Za-z0-9_.-]+, unique */
  char *vars[MAX_VARIANT_VARS]; /* "HAKMEM_...=VALUE" (heap, controller only) */
  size_t nvars;
} variant_t;

typedef struct cmdline {
  bench_opts_t o;
  const alloc_info_t *allocs[MAX_ALLOCS];
  size_t nallocs;
  const char *profiles[NPROFILES]; /* canonical names, in --profile order */
  size_t nprofiles;                /* 0 when --profile is absent */
  variant_t variants[MAX_VARIANTS];
  size_t nvariants;
  const char *json;    /* --json=FILE or NULL */
  const char *worker;  /* --worker=ALLOCATOR (internal) or NULL */
  bool verbose;
} cmdline_t;

static size_t nparams(const bench_workload_t *w) {
  size_t n = 0;
  while (n < BENCH_MAX_PARAMS && w->params[n].name != NULL) n++;
  return n;
}

/* "1", "0.25": seconds from nanoseconds, without trailing zeros. */
static void fmt_seconds(char *buf, size_t cap, uint64_t ns) {
  unsigned long long sec = ns / 1000000000ull, frac = ns % 1000000000ull;
  if (frac == 0) {
    snprintf(buf, cap, "%llu", sec);
    return;
  }
  int digits = 9;
  while (frac % 10 == 0) {
    frac /= 10;
    digits--;
  }
  snprintf(buf, cap, "%llu.%0*llu", sec, digits, frac);
}

static void usage(FILE *f, const bench_workload_t *w) {
  const bench_opts_t *d = &w->defaults;
  char secs[32];
  fmt_seconds(secs, sizeof(secs), d->duration_ns);
  fprintf(f,
          "usage: %s [--allocator=LIST] [--profile=LIST] [--variant=LABEL:VAR=VAL[,VAR=VAL...]]...\n"
          "       %*s %s[--iters=N] [--ws=N] [--threads=N] [--seed=N] [--min=BYTES] [--max=BYTES]\n",
          g_prog, (int)strlen(g_prog), "", w->timed ? "[--seconds=S] " : "");
  fprintf(f, "       %*s", (int)strlen(g_prog), "");
  for (size_t k = 0; k < nparams(w); k++) fprintf(f, " [--%s=N]", w->params[k].name);
  fprintf(f, " [--runs=N] [--json=FILE] [--verbose]\n");
  if (w->positional[0] != NULL) {
    fprintf(f, "       %s [FLAGS...]", g_prog);
    for (size_t k = 0; k < BENCH_MAX_POSITIONAL && w->positional[k] != NULL; k++) {
      fprintf(f, " [%s", w->positional[k]);
    }
    for (size_t k = 0; k < BENCH_MAX_POSITIONAL && w->positional[k] != NULL; k++) fputc(']', f);
    fputc('\n', f);
  }
  fprintf(f,
          "\n"
          "%s\n"
          "One op: %s.\n"
          "\n"
          "  --allocator=LIST  comma list of hakmem, glibc, mimalloc, jemalloc, tcmalloc\n"
          "                    (default hakmem,glibc); runs are interleaved A B A B ...\n"
          "  --profile=LIST    comma list of HAKMEM profiles: LEGACY, C7_SAFE, C7_ULTRA_BENCH,\n"
          "                    CUSTOM; hakmem runs once per profile, given to it as\n"
          "                    HAKMEM_TINY_HEAP_PROFILE (default: the environment's value,\n"
          "                    else the allocator's default, LEGACY)\n"
          "  --variant=LABEL:VAR=VAL[,VAR=VAL...]  (repeatable) one more hakmem series,\n"
          "                    shown as hakmem:LABEL, whose runs also get these HAKMEM_*\n"
          "                    variables; it uses the first --profile (values have no commas)\n",
          w->summary, w->op);
  if (w->timed) {
    fprintf(f,
            "  --seconds=S       the run ends after S seconds (decimals allowed; default %s; 0: no\n"
            "                    time limit) or when every thread has done --iters, whichever\n"
            "                    comes first\n"
            "  --iters=N         work per thread at most (default: no limit); --iters without\n"
            "                    --seconds: exactly N per thread, no time limit\n",
            secs);
  } else {
    fprintf(f, "  --iters=N         measured loop iterations per thread (default %llu)\n",
            (unsigned long long)d->iters);
  }
  fprintf(f, "  --ws=N            %s (default %llu)\n", w->ws_help ? w->ws_help : "working-set slots per thread",
          (unsigned long long)d->ws);
  if (w->thread_unit != NULL) {
    fprintf(f, "  --threads=N       %ss of %u threads (default %llu)\n", w->thread_unit,
            w->thread_factor ? w->thread_factor : 1, (unsigned long long)d->threads);
  } else {
    fprintf(f, "  --threads=N       threads, each running the loop on its own (default %llu)\n",
            (unsigned long long)d->threads);
  }
  fprintf(f,
          "  --seed=N          PRNG seed (default %llu)\n"
          "  --min=BYTES       smallest request (default %llu)\n"
          "  --max=BYTES       largest request (default %llu)\n",
          (unsigned long long)d->seed, (unsigned long long)d->min, (unsigned long long)d->max);
  for (size_t k = 0; k < nparams(w); k++) {
    const bench_param_t *pm = &w->params[k];
    char flag[48];
    snprintf(flag, sizeof(flag), "--%s=N", pm->name);
    fprintf(f, "  %-17s %s (default %llu)\n", flag, pm->help, (unsigned long long)pm->def);
  }
  if (w->positional[0] != NULL) {
    fprintf(f, "  positional args   in this order, the same as");
    for (size_t k = 0; k < BENCH_MAX_POSITIONAL && w->positional[k] != NULL; k++) {
      fprintf(f, " --%s", w->positional[k]);
    }
    fputc('\n', f);
  }
  fprintf(f,
          "  --runs=N          runs per series (default 5); the table shows the median\n"
          "  --json=FILE       also write one JSON object per series per line to FILE\n"
          "                    (relative to the directory bazel run was started from; \"-\" writes\n"
          "                    the JSON to stdout and the table to stderr)\n"
          "  --verbose         print each worker's command line (environment included) on stderr\n"
          "  --help            this text\n"
          "\n"
          "Series (allocators, hakmem profiles and variants) run interleaved A B C A B C ...\n"
          "Each run is a separate process: glibc runs without LD_PRELOAD, the others with\n"
          "LD_PRELOAD of libhakmem.so (from the runfiles) or %s/lib{mimalloc.so.2,\n"
          "jemalloc.so.2,tcmalloc_minimal.so.4}. Time: CLOCK_MONOTONIC around the loop only.\n"
          "Peak RSS: the worker's ru_maxrss (wait4). Exit status: 0 ok, 1 a run failed, 2 usage.\n",
          BENCH_LIBDIR);
}

static int usage_error(const bench_workload_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const bench_workload_t *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", g_prog);
  vfprintf(stderr, fmt, ap);
  fputs("\n\n", stderr);
  va_end(ap);
  usage(stderr, w);
  return 2;
}

static int parse_allocators(cmdline_t *c, const char *list, const bench_workload_t *w) {
  c->nallocs = 0;
  const char *p = list;
  for (;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const alloc_info_t *a = find_alloc(p, len);
    if (a == NULL) {
      return usage_error(w, "unknown allocator \"%.*s\" in --allocator=%s (known: hakmem, glibc, mimalloc, jemalloc, tcmalloc)",
                         (int)len, p, list);
    }
    bool dup = false;
    for (size_t i = 0; i < c->nallocs; i++) dup |= c->allocs[i] == a;
    if (!dup) c->allocs[c->nallocs++] = a;
    if (end == NULL) break;
    p = end + 1;
  }
  return 0;
}

/* --profile=LIST: canonical names, case-insensitive, duplicates dropped. */
static int parse_profiles(cmdline_t *c, const char *list, const bench_workload_t *w) {
  c->nprofiles = 0;
  const char *p = list;
  for (;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *prof = NULL;
    for (size_t k = 0; k < NPROFILES; k++) {
      if (strlen(k_profiles[k]) == len && strncasecmp(p, k_profiles[k], len) == 0) prof = k_profiles[k];
    }
    if (prof == NULL) {
      return usage_error(w, "unknown profile \"%.*s\" (known: LEGACY, C7_SAFE, C7_ULTRA_BENCH, CUSTOM)", (int)len, p);
    }
    bool dup = false;
    for (size_t i = 0; i < c->nprofiles; i++) dup |= c->profiles[i] == prof;
    if (!dup) c->profiles[c->nprofiles++] = prof;
    if (end == NULL) break;
    p = end + 1;
  }
  return 0;
}

static bool label_char(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
         ch == '-';
}

static bool var_name_char(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* --variant=LABEL:VAR=VAL[,VAR=VAL...] (arg is what follows the '='). */
static int parse_variant(cmdline_t *c, const char *arg, const bench_workload_t *w) {
  const char *colon = strchr(arg, ':');
  size_t llen = colon ? (size_t)(colon - arg) : 0;
  if (colon == NULL || llen == 0) {
    return usage_error(w, "--variant=%s: want LABEL:VAR=VALUE[,VAR=VALUE...]", arg);
  }
  for (size_t i = 0; i < llen; i++) {
    if (!label_char(arg[i])) {
      return usage_error(w, "--variant=%s: the label \"%.*s\" may only hold letters, digits, '_', '.' and '-'", arg,
                         (int)llen, arg);
    }
  }
  for (size_t i = 0; i < c->nvariants; i++) {
    if (strlen(c->variants[i].label) == llen && strncmp(c->variants[i].label, arg, llen) == 0) {
      return usage_error(w, "--variant: the label \"%.*s\" is used twice", (int)llen, arg);
    }
  }
  if (c->nvariants == MAX_VARIANTS) return usage_error(w, "--variant: at most %d variants", MAX_VARIANTS);
  variant_t *v = &c->variants[c->nvariants];
  memset(v, 0, sizeof(*v));
  const char *p = colon + 1;
  for (;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    size_t nlen = eq ? (size_t)(eq - p) : len;
    size_t n = 0;
    while (n < nlen && var_name_char(p[n])) n++;
    if (eq == NULL || nlen <= 7 || n != nlen || strncmp(p, "HAKMEM_", 7) != 0 || eq + 1 == p + len) {
      return usage_error(w, "--variant=%s: \"%.*s\" is not HAKMEM_NAME=VALUE", arg, (int)len, p);
    }
    if ((nlen == 24 && strncmp(p, "HAKMEM_TINY_HEAP_PROFILE", nlen) == 0) ||
        (nlen == 16 && strncmp(p, "HAKMEM_RUN_UNDER", nlen) == 0)) {
      return usage_error(w, "--variant=%s: %.*s cannot be set by a variant (profiles: --profile)", arg, (int)nlen, p);
    }
    for (size_t i = 0; i < v->nvars; i++) {
      if (strncmp(v->vars[i], p, nlen + 1) == 0) {
        return usage_error(w, "--variant=%s: %.*s is given twice", arg, (int)nlen, p);
      }
    }
    if (v->nvars == MAX_VARIANT_VARS) {
      return usage_error(w, "--variant=%s: at most %d variables per variant", arg, MAX_VARIANT_VARS);
    }
    v->vars[v->nvars++] = xasprintf("%.*s", (int)len, p);
    if (end == NULL) break;
    p = end + 1;
  }
  v->label = xasprintf("%.*s", (int)llen, arg);
  c->nvariants++;
  return 0;
}

/* Returns 0, or the exit status (2) after printing the usage; *help is set
 * for --help. */
static int parse_cmdline(cmdline_t *c, int argc, char **argv, const bench_workload_t *w, bool *help) {
  memset(c, 0, sizeof(*c));
  c->o = w->defaults;
  c->o.runs = 5;
  if (!w->timed) c->o.duration_ns = 0;
  for (size_t k = 0; k < nparams(w); k++) c->o.param[k] = w->params[k].def;
  *help = false;
  int rc = parse_allocators(c, "hakmem,glibc", w);
  if (rc != 0) return rc;
  bool iters_given = false, seconds_given = false;
  size_t npos = 0;
  char posbuf[256];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v;
    if (a[0] != '-' && a[0] != '\0') {
      /* A positional argument: the flag it stands for (w->positional). */
      if (npos == BENCH_MAX_POSITIONAL || w->positional[npos] == NULL) {
        return usage_error(w, "unexpected argument \"%s\"", a);
      }
      snprintf(posbuf, sizeof(posbuf), "--%s=%s", w->positional[npos++], a);
      a = posbuf;
    }
    struct {
      const char *name;
      uint64_t *dst;
      uint64_t lo, hi;
    } nums[] = {
        {"--iters", &c->o.iters, 1, UINT64_MAX / 2},
        {"--ws", &c->o.ws, 1, (uint64_t)1 << 24},
        {"--threads", &c->o.threads, 1, 1024},
        {"--seed", &c->o.seed, 0, UINT64_MAX},
        {"--min", &c->o.min, 1, (uint64_t)1 << 30},
        {"--max", &c->o.max, 1, (uint64_t)1 << 30},
        {"--runs", &c->o.runs, 1, MAX_RUNS},
    };
    bool done = false;
    for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]) && !done; k++) {
      if ((v = bench_flag_value(a, nums[k].name)) == NULL) continue;
      uint64_t x;
      if (!bench_parse_u64(v, &x) || x < nums[k].lo || x > nums[k].hi) {
        return usage_error(w, "%s: \"%s\" is not a number in %llu..%llu", nums[k].name, v,
                           (unsigned long long)nums[k].lo, (unsigned long long)nums[k].hi);
      }
      *nums[k].dst = x;
      iters_given |= k == 0;
      done = true;
    }
    /* The workload's own flags. */
    for (size_t k = 0; k < nparams(w) && !done; k++) {
      const bench_param_t *pm = &w->params[k];
      size_t len = strlen(pm->name);
      if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, pm->name, len) != 0 || a[2 + len] != '=') continue;
      v = a + 3 + len;
      uint64_t x;
      if (!bench_parse_u64(v, &x) || x < pm->lo || x > pm->hi) {
        return usage_error(w, "--%s: \"%s\" is not a number in %llu..%llu", pm->name, v,
                           (unsigned long long)pm->lo, (unsigned long long)pm->hi);
      }
      c->o.param[k] = x;
      done = true;
    }
    if (!done && w->timed && (v = bench_flag_value(a, "--seconds")) != NULL) {
      if (!bench_parse_seconds(v, MAX_SECONDS, &c->o.duration_ns)) {
        return usage_error(w, "--seconds: \"%s\" is not a number of seconds in 0..%d (e.g. 2 or 0.5)", v,
                           MAX_SECONDS);
      }
      seconds_given = true;
      done = true;
    }
    if (done) continue;
    if ((v = bench_flag_value(a, "--allocator")) != NULL) {
      if ((rc = parse_allocators(c, v, w)) != 0) return rc;
    } else if ((v = bench_flag_value(a, "--profile")) != NULL) {
      if ((rc = parse_profiles(c, v, w)) != 0) return rc;
    } else if ((v = bench_flag_value(a, "--variant")) != NULL) {
      if ((rc = parse_variant(c, v, w)) != 0) return rc;
    } else if ((v = bench_flag_value(a, "--json")) != NULL) {
      if (*v == '\0') return usage_error(w, "--json needs a file name");
      c->json = v;
    } else if ((v = bench_flag_value(a, "--worker")) != NULL) {
      c->worker = v;
      if (find_alloc(v, strlen(v)) == NULL) return usage_error(w, "--worker: unknown allocator \"%s\"", v);
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      c->verbose = true;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *help = true;
      return 0;
    } else {
      return usage_error(w, "unknown argument \"%s\"", a);
    }
  }
  bool hakmem = false;
  for (size_t i = 0; i < c->nallocs; i++) hakmem |= strcmp(c->allocs[i]->name, "hakmem") == 0;
  if (c->nvariants > 0 && !hakmem) return usage_error(w, "--variant needs hakmem in --allocator");
  if (w->timed) {
    /* --iters alone: a work-bounded run (the regression gate, callgrind). */
    if (iters_given && !seconds_given) c->o.duration_ns = 0;
    if (c->o.duration_ns == 0 && c->o.iters == 0) {
      return usage_error(w, "--seconds=0 (no time limit) needs --iters=N: the run must end");
    }
  }
  if (c->o.min > c->o.max) {
    return usage_error(w, "--min=%llu is larger than --max=%llu", (unsigned long long)c->o.min,
                       (unsigned long long)c->o.max);
  }
  if (w->check != NULL) {
    const char *msg = w->check(&c->o);
    if (msg != NULL) return usage_error(w, "%s", msg);
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Worker: one process, one allocator, one run */

typedef struct worker_shared {
  const bench_workload_t *w;
  pthread_barrier_t start, stop;
  /* Timed runs: the threads count themselves done here, so that the main
   * thread, waiting for them or for the deadline, wakes at the first. */
  bool timed;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t ndone;
} worker_shared_t;

typedef struct worker_thread {
  bench_thread_t t;
  worker_shared_t *ws;
} worker_thread_t;

static void *worker_thread_main(void *arg) {
  worker_thread_t *wt = arg;
  worker_shared_t *ws = wt->ws;
  const bench_workload_t *w = ws->w;
  w->setup(&wt->t);
  pthread_barrier_wait(&ws->start);
  w->run(&wt->t);
  if (ws->timed) {
    pthread_mutex_lock(&ws->mu);
    ws->ndone++;
    pthread_cond_signal(&ws->cv);
    pthread_mutex_unlock(&ws->mu);
  }
  pthread_barrier_wait(&ws->stop);
  w->teardown(&wt->t);
  return NULL;
}

/* Timed runs, main thread: until all n threads are done or the clock
 * reaches deadline_ns (0: no deadline), whichever comes first. */
static void wait_done_or_deadline(worker_shared_t *ws, size_t n, uint64_t deadline_ns) {
  struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000ull),
                        .tv_nsec = (long)(deadline_ns % 1000000000ull)};
  pthread_mutex_lock(&ws->mu);
  while (ws->ndone < n) {
    if (deadline_ns == 0) {
      pthread_cond_wait(&ws->cv, &ws->mu);
    } else if (pthread_cond_timedwait(&ws->cv, &ws->mu, &ts) == ETIMEDOUT) {
      break;
    }
  }
  pthread_mutex_unlock(&ws->mu);
}

/* Where malloc comes from: the path of the object that defines it. */
static const char *malloc_origin(void) {
  Dl_info info;
  void *sym = dlsym(RTLD_DEFAULT, "malloc");
  if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL) return "?";
  return info.dli_fname;
}

static int worker_main(const cmdline_t *c, const bench_workload_t *w) {
  const alloc_info_t *a = find_alloc(c->worker, strlen(c->worker));
  const char *origin = malloc_origin();
  if (strstr(origin, a->lib_match) == NULL) {
    const char *pre = getenv("LD_PRELOAD");
    bench_die("worker for %s: malloc comes from %s, not from %s (LD_PRELOAD=%s)", a->name, origin,
              a->lib_match, pre ? pre : "(unset)");
  }
  const bench_opts_t *o = &c->o;
  void *shared = w->init ? w->init(o) : NULL;
  size_t n = (size_t)o->threads * (w->thread_factor ? w->thread_factor : 1);
  static atomic_bool stop; /* raised once, when a timed run's time is up */
  atomic_init(&stop, false);
  worker_thread_t *th = calloc(n, sizeof(*th));
  if (th == NULL) bench_die("out of memory");
  for (size_t i = 0; i < n; i++) {
    th[i].t.opts = o;
    th[i].t.index = (unsigned)i;
    th[i].t.seed = o->seed + (uint64_t)i * 0xd1b54a32d192ed03ull;
    th[i].t.shared = shared;
    th[i].t.stop = &stop;
  }
  uint64_t t0, t1;
  if (n == 1 && !w->timed) {
    /* The main thread runs the loop itself: no thread start-up in the way. */
    w->setup(&th[0].t);
    CALLGRIND_ZERO_STATS;
    t0 = bench_now_ns();
    w->run(&th[0].t);
    t1 = bench_now_ns();
    CALLGRIND_DUMP_STATS_AT("measured loop");
    w->teardown(&th[0].t);
  } else {
    worker_shared_t ws = {.w = w, .timed = w->timed};
    pthread_barrier_init(&ws.start, NULL, (unsigned)n + 1);
    pthread_barrier_init(&ws.stop, NULL, (unsigned)n + 1);
    pthread_mutex_init(&ws.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ws.cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_t *tids = calloc(n, sizeof(*tids));
    if (tids == NULL) bench_die("out of memory");
    for (size_t i = 0; i < n; i++) {
      th[i].ws = &ws;
      int err = pthread_create(&tids[i], NULL, worker_thread_main, &th[i]);
      if (err != 0) bench_die("pthread_create: %s", strerror(err));
    }
    pthread_barrier_wait(&ws.start);
    CALLGRIND_ZERO_STATS;
    t0 = bench_now_ns();
    if (w->timed) {
      /* Sleep until the threads are done or the time is up; then stop them. */
      wait_done_or_deadline(&ws, n, o->duration_ns ? t0 + o->duration_ns : 0);
      atomic_store_explicit(&stop, true, memory_order_relaxed);
    }
    pthread_barrier_wait(&ws.stop);
    t1 = bench_now_ns();
    CALLGRIND_DUMP_STATS_AT("measured loop");
    for (size_t i = 0; i < n; i++) pthread_join(tids[i], NULL);
    pthread_barrier_destroy(&ws.start);
    pthread_barrier_destroy(&ws.stop);
    pthread_cond_destroy(&ws.cv);
    pthread_mutex_destroy(&ws.mu);
    free(tids);
  }
  uint64_t ops = 0;
  for (size_t i = 0; i < n; i++) ops += th[i].t.ops;
  free(th);
  if (w->fini) w->fini(shared);
  printf(RESULT_TAG " ops=%llu ns=%llu threads=%llu callgrind=%d malloc=%s peak_rss_kib=%llu\n",
         (unsigned long long)ops, (unsigned long long)(t1 - t0), (unsigned long long)o->threads, BENCH_HAVE_CALLGRIND,
         origin, (unsigned long long)bench_peak_rss_kib());
  if (fflush(stdout) != 0) bench_die("writing the result: %s", strerror(errno));
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Controller: finding the libraries, spawning workers */

static char g_exe[PATH_MAX];

/* out: PATH_MAX bytes. */
static bool try_runfiles(const char *dir, char *out) {
  char path[PATH_MAX];
  /* Workspace (or external repository) named "hakmem". */
  snprintf(path, sizeof(path), "%s/hakmem/hakmem/libhakmem.so", dir);
  if (file_exists(path) && realpath(path, out) != NULL) return true;
  /* A consumer that named the repository differently. */
  DIR *d = opendir(dir);
  if (d == NULL) return false;
  bool found = false;
  struct dirent *e;
  while (!found && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof(path), "%s/%s/hakmem/libhakmem.so", dir, e->d_name);
    found = file_exists(path) && realpath(path, out) != NULL;
  }
  closedir(d);
  return found;
}

/* libhakmem.so: the runfiles of this binary (bazel run, bazel test), else
 * next to the binary, else bazel-bin's layout (bazel-bin/benchmarks/<driver>
 * and bazel-bin/hakmem/libhakmem.so). out: PATH_MAX bytes; tried: the
 * places looked at, for the error message. */
static bool find_hakmem(const char *argv0, char *out, char *tried, size_t tried_cap) {
  const char *envs[] = {"RUNFILES_DIR", "TEST_SRCDIR"};
  size_t tl = 0;
  tried[0] = '\0';
#define TRIED(p) \
  (tl += (size_t)snprintf(tl < tried_cap ? tried + tl : NULL, tl < tried_cap ? tried_cap - tl : 0, "  %s\n", (p)))
  for (size_t i = 0; i < 2; i++) {
    const char *d = getenv(envs[i]);
    if (d == NULL || *d == '\0') continue;
    if (try_runfiles(d, out)) return true;
    TRIED(d);
  }
  char dir[PATH_MAX + 16];
  if (strchr(argv0, '/') != NULL) {
    snprintf(dir, sizeof(dir), "%s.runfiles", argv0);
    if (try_runfiles(dir, out)) return true;
    TRIED(dir);
  }
  if (strcmp(argv0, g_exe) != 0) {
    snprintf(dir, sizeof(dir), "%s.runfiles", g_exe);
    if (try_runfiles(dir, out)) return true;
    TRIED(dir);
  }
  char base[PATH_MAX];
  snprintf(base, sizeof(base), "%s", g_exe);
  char *slash = strrchr(base, '/');
  if (slash != NULL) *slash = '\0';
  const char *rel[] = {"libhakmem.so", "../hakmem/libhakmem.so"};
  for (size_t i = 0; i < 2; i++) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", base, rel[i]);
    if (file_exists(path) && realpath(path, out) != NULL) return true;
    TRIED(path);
  }
#undef TRIED
  return false;
}

typedef struct run_result {
  bool ok;
  double ops_per_sec;
  long maxrss_kib;
  char error[160];
  double metric[MAX_METRICS]; /* bench_metric() values, by g_metric_names index */
  bool has_metric[MAX_METRICS];
} run_result_t;

/* Metric names in the order the workers first reported them (controller). */
static char g_metric_names[MAX_METRICS][METRIC_NAME_MAX];
static size_t g_nmetrics;

/* "NAME=VALUE" (what follows METRIC_TAG) into r; unknown names are added. */
static void parse_metric(const char *arg, run_result_t *r) {
  const char *eq = strchr(arg, '=');
  size_t len = eq ? (size_t)(eq - arg) : 0;
  char *end;
  if (len == 0 || len >= METRIC_NAME_MAX) return;
  double v = strtod(eq + 1, &end);
  if (end == eq + 1) return;
  size_t i = 0;
  while (i < g_nmetrics && !(strlen(g_metric_names[i]) == len && strncmp(g_metric_names[i], arg, len) == 0)) i++;
  if (i == g_nmetrics) {
    if (g_nmetrics == MAX_METRICS) return;
    memcpy(g_metric_names[i], arg, len);
    g_metric_names[i][len] = '\0';
    g_nmetrics++;
  }
  r->metric[i] = v;
  r->has_metric[i] = true;
}

/* One line of the table: an allocator, or hakmem under one profile or
 * variant. */
typedef struct series {
  const alloc_info_t *a;
  char *name;               /* "glibc", "hakmem", "hakmem:LABEL" (heap) */
  const char *profile;      /* hakmem: HAKMEM_TINY_HEAP_PROFILE given to the worker, NULL: none */
  const variant_t *variant; /* hakmem: extra environment, NULL: none */
  const char *preload;      /* absolute path or NULL */
  run_result_t *runs; /* --runs entries (heap: the controller stays small, see
                         controller_main) */
  size_t nruns;
  bool failed;
  char error[192]; /* "run N: " + the first failed run's error */
} series_t;

/* "NAME=..." and "NAME=...": same NAME. */
static bool same_env_name(const char *a, const char *b) {
  for (; *a == *b; a++, b++) {
    if (*a == '=' || *a == '\0') return true;
  }
  return (*a == '=' || *a == '\0') && (*b == '=' || *b == '\0');
}

/* Environment of a worker: ours minus LD_PRELOAD, HAKMEM_RUN_UNDER and the
 * variables extra sets (the profile variable when --profile is given, a
 * variant's), plus extra. */
static char **worker_env(const char *const *extra, size_t nextra) {
  size_t n = 0;
  while (environ[n] != NULL) n++;
  char **env = calloc(n + nextra + 1, sizeof(char *));
  if (env == NULL) bench_die("out of memory");
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *e = environ[i];
    if (strncmp(e, "LD_PRELOAD=", 11) == 0) continue;
    if (strncmp(e, "HAKMEM_RUN_UNDER=", 17) == 0) continue;
    bool replaced = false;
    for (size_t j = 0; j < nextra && !replaced; j++) replaced = same_env_name(e, extra[j]);
    if (replaced) continue;
    env[k++] = environ[i];
  }
  for (size_t i = 0; i < nextra; i++) env[k++] = (char *)extra[i];
  env[k] = NULL;
  return env;
}

/* Splits HAKMEM_RUN_UNDER ("qemu-aarch64 -L /usr/aarch64-linux-gnu") into
 * words; only used for a non-x86-64 build (cross-architecture emulation). */
static size_t run_under_words(char **words, size_t cap, char **copy) {
  *copy = NULL;
#if defined(__x86_64__)
  (void)words;
  (void)cap;
  return 0;
#else
  const char *ru = getenv("HAKMEM_RUN_UNDER");
  if (ru == NULL || *ru == '\0') return 0;
  *copy = xstrdup(ru);
  size_t n = 0;
  for (char *save = NULL, *t = strtok_r(*copy, " \t", &save); t != NULL && n < cap; t = strtok_r(NULL, " \t", &save)) {
    words[n++] = t;
  }
  return n;
#endif
}

static void print_command(FILE *f, char *const *extra_env, size_t nextra, char *const *argv) {
  for (size_t i = 0; i < nextra; i++) fprintf(f, "%s ", extra_env[i]);
  for (size_t i = 0; argv[i] != NULL; i++) fprintf(f, "%s%s", i ? " " : "", argv[i]);
  fputc('\n', f);
}

static void run_worker(const cmdline_t *c, const bench_workload_t *w, series_t *st, run_result_t *r) {
  memset(r, 0, sizeof(*r));
  bool is_hakmem = strcmp(st->a->name, "hakmem") == 0;
  char *preload_env = st->preload ? xasprintf("LD_PRELOAD=%s", st->preload) : NULL;
  char *profile_env = (is_hakmem && st->profile) ? xasprintf("HAKMEM_TINY_HEAP_PROFILE=%s", st->profile) : NULL;

  char *ru[16], *ru_copy;
  size_t nru = run_under_words(ru, 16, &ru_copy);
  bool qemu = nru > 0 && strstr(ru[0], "qemu-") != NULL;

  /* Environment additions: under QEMU, LD_PRELOAD goes to the guest (-E). */
  const char *extra[2 + MAX_VARIANT_VARS];
  size_t nextra = 0;
  if (preload_env && !qemu) extra[nextra++] = preload_env;
  if (profile_env) extra[nextra++] = profile_env;
  if (is_hakmem && st->variant) {
    for (size_t i = 0; i < st->variant->nvars; i++) extra[nextra++] = st->variant->vars[i];
  }
  char **env = worker_env(extra, nextra);

  char *argv[48];
  size_t na = 0;
  for (size_t i = 0; i < nru; i++) argv[na++] = ru[i];
  if (qemu && preload_env) {
    argv[na++] = "-E";
    argv[na++] = preload_env;
  }
  argv[na++] = g_exe;
  char *owned[9 + BENCH_MAX_PARAMS];
  size_t nowned = 0;
  owned[nowned++] = argv[na++] = xasprintf("--worker=%s", st->a->name);
  if (w->timed) {
    /* Both limits explicitly: the worker must not apply "--iters alone". */
    char secs[32];
    fmt_seconds(secs, sizeof(secs), c->o.duration_ns);
    owned[nowned++] = argv[na++] = xasprintf("--seconds=%s", secs);
  }
  if (!w->timed || c->o.iters != 0) {
    owned[nowned++] = argv[na++] = xasprintf("--iters=%llu", (unsigned long long)c->o.iters);
  }
  for (size_t k = 0; k < nparams(w); k++) {
    owned[nowned++] = argv[na++] = xasprintf("--%s=%llu", w->params[k].name, (unsigned long long)c->o.param[k]);
  }
  owned[nowned++] = argv[na++] = xasprintf("--ws=%llu", (unsigned long long)c->o.ws);
  owned[nowned++] = argv[na++] = xasprintf("--threads=%llu", (unsigned long long)c->o.threads);
  owned[nowned++] = argv[na++] = xasprintf("--seed=%llu", (unsigned long long)c->o.seed);
  owned[nowned++] = argv[na++] = xasprintf("--min=%llu", (unsigned long long)c->o.min);
  owned[nowned++] = argv[na++] = xasprintf("--max=%llu", (unsigned long long)c->o.max);
  argv[na] = NULL;

  if (c->verbose) {
    fprintf(stderr, "%s: worker: ", g_prog);
    print_command(stderr, (char *const *)extra, nextra, argv);
  }

  int fds[2];
  if (pipe(fds) != 0) bench_die("pipe: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  pid_t pid;
  fflush(stdout);
  fflush(stderr);
  int err = nru > 0 ? posix_spawnp(&pid, argv[0], &fa, NULL, argv, env)
                    : posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    snprintf(r->error, sizeof(r->error), "cannot start %s: %s", argv[0], strerror(err));
    goto out;
  }

  /* Everything the worker prints on stdout; the result line is ours, the
   * rest (if any) is passed on to stderr. */
  char buf[8192];
  size_t len = 0;
  for (;;) {
    char tmp[4096];
    ssize_t got = read(fds[0], tmp, sizeof(tmp));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    size_t take = (size_t)got;
    if (take > sizeof(buf) - 1 - len) take = sizeof(buf) - 1 - len;
    memcpy(buf + len, tmp, take);
    len += take;
  }
  buf[len] = '\0';
  close(fds[0]);

  int status;
  struct rusage ru_child;
  pid_t wp;
  while ((wp = wait4(pid, &status, 0, &ru_child)) < 0 && errno == EINTR) {
  }
  if (wp < 0) bench_die("wait4: %s", strerror(errno));
  r->maxrss_kib = ru_child.ru_maxrss;

  unsigned long long ops = 0, ns = 0;
  bool have = false;
  for (char *line = buf, *next; line != NULL && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    if (strncmp(line, RESULT_TAG " ", sizeof(RESULT_TAG)) == 0) {
      have = sscanf(line, RESULT_TAG " ops=%llu ns=%llu", &ops, &ns) == 2;
    } else if (strncmp(line, METRIC_TAG " ", sizeof(METRIC_TAG)) == 0) {
      parse_metric(line + sizeof(METRIC_TAG), r);
    } else {
      fprintf(stderr, "%s\n", line);
    }
  }
  if (WIFSIGNALED(status)) {
    snprintf(r->error, sizeof(r->error), "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    snprintf(r->error, sizeof(r->error), "exited with status %d", WEXITSTATUS(status));
  } else if (!have || ns == 0) {
    snprintf(r->error, sizeof(r->error), "printed no result line");
  } else {
    r->ok = true;
    r->ops_per_sec = (double)ops * 1e9 / (double)ns;
  }
  if (!r->ok) {
    fprintf(stderr, "%s: %s worker %s; to reproduce:\n  ", g_prog, st->name, r->error);
    print_command(stderr, (char *const *)extra, nextra, argv);
  }
out:
  for (size_t i = 0; i < nowned; i++) free(owned[i]);
  free(ru_copy);
  free(env);
  free(preload_env);
  free(profile_env);
}

/* ------------------------------------------------------------------------ */
/* Statistics and report */

typedef struct summary {
  size_t n;
  double median, mad, min, max;
  long maxrss_kib;
} summary_t;

static summary_t summarize(const series_t *st) {
  summary_t s = {0};
  double v[MAX_RUNS], dev[MAX_RUNS];
  for (size_t i = 0; i < st->nruns; i++) {
    if (!st->runs[i].ok) continue;
    v[s.n++] = st->runs[i].ops_per_sec;
    if (st->runs[i].maxrss_kib > s.maxrss_kib) s.maxrss_kib = st->runs[i].maxrss_kib;
  }
  if (s.n == 0) return s;
  s.median = bench_median(v, s.n);
  s.min = v[0];
  s.max = v[s.n - 1];
  for (size_t i = 0; i < s.n; i++) dev[i] = fabs(v[i] - s.median);
  s.mad = bench_median(dev, s.n);
  return s;
}

static size_t st_failed_runs(const series_t *st) {
  size_t k = 0;
  for (size_t i = 0; i < st->nruns; i++) k += !st->runs[i].ok;
  return k;
}

static const char *profile_of(const series_t *st) {
  if (strcmp(st->a->name, "hakmem") != 0) return NULL;
  if (st->profile) return st->profile;
  const char *e = getenv("HAKMEM_TINY_HEAP_PROFILE");
  return (e && *e) ? e : "LEGACY";
}

static void print_table(FILE *f, const cmdline_t *c, const bench_workload_t *w, series_t *sts, size_t n,
                        const summary_t *sum, double glibc_median) {
  const bench_opts_t *o = &c->o;
  /* "N iters"; timed workloads "S s", "S s or N iters" or "N iters". */
  char len[64], secs[32], params[160] = "";
  fmt_seconds(secs, sizeof(secs), o->duration_ns);
  if (w->timed && o->duration_ns != 0 && o->iters != 0) {
    snprintf(len, sizeof(len), "%s s or %llu iters", secs, (unsigned long long)o->iters);
  } else if (w->timed && o->duration_ns != 0) {
    snprintf(len, sizeof(len), "%s s", secs);
  } else {
    snprintf(len, sizeof(len), "%llu iters", (unsigned long long)o->iters);
  }
  size_t pl = 0;
  for (size_t k = 0; k < nparams(w) && pl < sizeof(params); k++) {
    pl += (size_t)snprintf(params + pl, sizeof(params) - pl, ", %s %llu", w->params[k].name,
                           (unsigned long long)o->param[k]);
  }
  fprintf(f, "%s: %s x %llu %s%s, ws %llu, sizes %llu..%llu B%s, seed %llu, %llu run%s per %s (interleaved)\n",
          w->name, len, (unsigned long long)o->threads, w->thread_unit ? w->thread_unit : "thread",
          o->threads == 1 ? "" : "s", (unsigned long long)o->ws, (unsigned long long)o->min,
          (unsigned long long)o->max, params, (unsigned long long)o->seed, (unsigned long long)o->runs,
          o->runs == 1 ? "" : "s", n > c->nallocs ? "series" : "allocator");
  fprintf(f, "op = %s\n\n", w->op);
  int width = 9; /* "allocator"; wider for hakmem:LABEL */
  for (size_t i = 0; i < n; i++) {
    if ((int)strlen(sts[i].name) > width) width = (int)strlen(sts[i].name);
  }
  fprintf(f, "%-*s %-15s %12s %19s %21s %8s %9s\n", width, "allocator", "profile", "median op/s", "MAD",
          "min..max op/s", "vs glibc", "peak RSS");
  for (size_t i = 0; i < n; i++) {
    const summary_t *s = &sum[i];
    const char *prof = profile_of(&sts[i]);
    if (s->n == 0) {
      fprintf(f, "%-*s %-15s FAILED: %s\n", width, sts[i].name, prof ? prof : "-", sts[i].error);
      continue;
    }
    char med[32], mad[40], range[48], ratio[16], rss[24];
    snprintf(med, sizeof(med), "%.2f M", s->median / 1e6);
    snprintf(mad, sizeof(mad), "+-%.2f M (%.1f%%)", s->mad / 1e6, 100.0 * s->mad / s->median);
    snprintf(range, sizeof(range), "%.2f..%.2f M", s->min / 1e6, s->max / 1e6);
    if (glibc_median > 0) {
      snprintf(ratio, sizeof(ratio), "%.2fx", s->median / glibc_median);
    } else {
      snprintf(ratio, sizeof(ratio), "-");
    }
    snprintf(rss, sizeof(rss), "%.1f MiB", (double)s->maxrss_kib / 1024.0);
    fprintf(f, "%-*s %-15s %12s %19s %21s %8s %9s", width, sts[i].name, prof ? prof : "-", med, mad, range, ratio,
            rss);
    if (sts[i].failed) fprintf(f, "  (%zu of %zu runs failed: %s)", st_failed_runs(&sts[i]), sts[i].nruns, sts[i].error);
    fputc('\n', f);
  }
}

/* The bench_metric() numbers, if the workload reported any: one column per
 * metric, the median over the series' good runs ("-" when none had it). */
static void print_metrics(FILE *f, series_t *sts, size_t n) {
  if (g_nmetrics == 0) return;
  int width = 9, cw[MAX_METRICS];
  for (size_t i = 0; i < n; i++) {
    if ((int)strlen(sts[i].name) > width) width = (int)strlen(sts[i].name);
  }
  fprintf(f, "\nmetrics (median of the runs):\n%-*s %-15s", width, "allocator", "profile");
  for (size_t m = 0; m < g_nmetrics; m++) {
    cw[m] = (int)strlen(g_metric_names[m]) > 8 ? (int)strlen(g_metric_names[m]) : 8;
    fprintf(f, " %*s", cw[m], g_metric_names[m]);
  }
  fputc('\n', f);
  for (size_t i = 0; i < n; i++) {
    const char *prof = profile_of(&sts[i]);
    fprintf(f, "%-*s %-15s", width, sts[i].name, prof ? prof : "-");
    for (size_t m = 0; m < g_nmetrics; m++) {
      double v[MAX_RUNS];
      size_t k = 0;
      for (size_t r = 0; r < sts[i].nruns; r++) {
        if (sts[i].runs[r].ok && sts[i].runs[r].has_metric[m]) v[k++] = sts[i].runs[r].metric[m];
      }
      if (k == 0) fprintf(f, " %*s", cw[m], "-");
      else fprintf(f, " %*.1f", cw[m], bench_median(v, k));
    }
    fputc('\n', f);
  }
}

static void print_json(FILE *f, const cmdline_t *c, const bench_workload_t *w, series_t *sts, size_t n,
                       const summary_t *sum, double glibc_median) {
  const bench_opts_t *o = &c->o;
  for (size_t i = 0; i < n; i++) {
    const summary_t *s = &sum[i];
    fputs("{\"benchmark\":", f);
    bench_json_str(f, w->name);
    fputs(",\"allocator\":", f);
    bench_json_str(f, sts[i].a->name);
    fputs(",\"profile\":", f);
    bench_json_str(f, profile_of(&sts[i]));
    /* "variant": the label, "variant_env": what it set ({"VAR":"VAL",...}). */
    const variant_t *v = sts[i].variant;
    fputs(",\"variant\":", f);
    bench_json_str(f, v ? v->label : NULL);
    fputs(",\"variant_env\":", f);
    if (v == NULL) {
      fputs("null", f);
    } else {
      fputc('{', f);
      for (size_t k = 0; k < v->nvars; k++) {
        const char *eq = strchr(v->vars[k], '=');
        fputs(k ? "," : "", f);
        bench_json_strn(f, v->vars[k], (size_t)(eq - v->vars[k]));
        fputc(':', f);
        bench_json_str(f, eq + 1);
      }
      fputc('}', f);
    }
    fputs(",\"arch\":\"" BENCH_ARCH "\",\"op\":", f);
    bench_json_str(f, w->op);
    /* Timed workloads: "iters" null when uncapped, "seconds" (null: no time
     * limit) and "params". */
    if (w->timed && o->iters == 0) {
      fputs(",\"iters\":null", f);
    } else {
      fprintf(f, ",\"iters\":%llu", (unsigned long long)o->iters);
    }
    fprintf(f, ",\"ws\":%llu,\"threads\":%llu,\"seed\":%llu,\"min\":%llu,\"max\":%llu,\"runs\":%zu",
            (unsigned long long)o->ws, (unsigned long long)o->threads, (unsigned long long)o->seed,
            (unsigned long long)o->min, (unsigned long long)o->max, sts[i].nruns);
    if (w->timed) {
      char secs[32];
      fmt_seconds(secs, sizeof(secs), o->duration_ns);
      fprintf(f, ",\"seconds\":%s", o->duration_ns ? secs : "null");
    }
    if (nparams(w) > 0) {
      fputs(",\"params\":{", f);
      for (size_t k = 0; k < nparams(w); k++) {
        fprintf(f, "%s\"%s\":%llu", k ? "," : "", w->params[k].name, (unsigned long long)o->param[k]);
      }
      fputc('}', f);
    }
    fputs(",\"ops_per_sec\":[", f);
    size_t k = 0;
    for (size_t r = 0; r < sts[i].nruns; r++) {
      if (!sts[i].runs[r].ok) continue;
      fprintf(f, "%s%.0f", k++ ? "," : "", sts[i].runs[r].ops_per_sec);
    }
    fputs("],\"peak_rss_kib\":[", f);
    k = 0;
    for (size_t r = 0; r < sts[i].nruns; r++) {
      if (!sts[i].runs[r].ok) continue;
      fprintf(f, "%s%ld", k++ ? "," : "", sts[i].runs[r].maxrss_kib);
    }
    fputc(']', f);
    if (s->n > 0) {
      fprintf(f, ",\"median_ops_per_sec\":%.0f,\"mad_ops_per_sec\":%.0f,\"min_ops_per_sec\":%.0f,\"max_ops_per_sec\":%.0f",
              s->median, s->mad, s->min, s->max);
      if (glibc_median > 0) {
        fprintf(f, ",\"ratio_to_glibc\":%.4f", s->median / glibc_median);
      } else {
        fputs(",\"ratio_to_glibc\":null", f);
      }
      fprintf(f, ",\"max_peak_rss_kib\":%ld", s->maxrss_kib);
    }
    if (g_nmetrics > 0) { /* bench_metric() numbers, per good run (null: not reported) */
      fputs(",\"metrics\":{", f);
      for (size_t m = 0; m < g_nmetrics; m++) {
        fprintf(f, "%s\"%s\":[", m ? "," : "", g_metric_names[m]);
        k = 0;
        for (size_t r = 0; r < sts[i].nruns; r++) {
          if (!sts[i].runs[r].ok) continue;
          if (sts[i].runs[r].has_metric[m]) fprintf(f, "%s%.17g", k++ ? "," : "", sts[i].runs[r].metric[m]);
          else fprintf(f, "%snull", k++ ? "," : "");
        }
        fputc(']', f);
      }
      fputc('}', f);
    }
    fprintf(f, ",\"failed_runs\":%zu", st_failed_runs(&sts[i]));
    if (sts[i].failed) {
      fputs(",\"error\":", f);
      bench_json_str(f, sts[i].error);
    }
    fputs("}\n", f);
  }
}

/* --json: relative paths are taken from where `bazel run` was started. */
static char *json_path(const char *arg) {
  const char *wd = getenv("BUILD_WORKING_DIRECTORY");
  if (arg[0] == '/' || wd == NULL || *wd == '\0') return xstrdup(arg);
  return xasprintf("%s/%s", wd, arg);
}

FILE *bench_json_open(const char *arg, char **path) {
  *path = NULL;
  if (strcmp(arg, "-") == 0) return stdout;
  *path = json_path(arg);
  FILE *f = fopen(*path, "w");
  if (f == NULL) {
    fprintf(stderr, "%s: --json: cannot write %s: %s\n", g_prog, *path, strerror(errno));
    free(*path);
    *path = NULL;
  }
  return f;
}

static int controller_main(const cmdline_t *c, const bench_workload_t *w, const char *argv0) {
  /* A worker's ru_maxrss also covers the memory image it was spawned from
   * (posix_spawn shares this process's address space until the exec), so
   * this process must stay smaller than any worker: no big buffers here. */
  series_t sts[MAX_SERIES];
  size_t n = 0;
  memset(sts, 0, sizeof(sts));

  /* Resolve every library first: a missing one fails before any run. */
  for (size_t i = 0; i < c->nallocs; i++) {
    const alloc_info_t *a = c->allocs[i];
    const char *preload = NULL;
    if (strcmp(a->name, "hakmem") == 0) {
      static char lib[PATH_MAX];
      char tried[4096];
      if (!find_hakmem(argv0, lib, tried, sizeof(tried))) {
        fprintf(stderr,
                "%s: hakmem: libhakmem.so not found. Run the driver with bazel run (or bazel build\n"
                "//hakmem:libhakmem.so first). Looked in:\n%s",
                g_prog, tried);
        return 1;
      }
      preload = lib;
    } else if (a->lib != NULL) {
      if (!file_exists(a->lib)) {
        fprintf(stderr, "%s: %s: %s not found: install %s\n", g_prog, a->name, a->lib, a->package);
        return 1;
      }
      preload = a->lib;
    }
    /* The series of this allocator: hakmem once per --profile (once without
     * one), then each --variant with the first profile; a peer once. */
    size_t nseries = 1;
    if (strcmp(a->name, "hakmem") == 0) nseries = (c->nprofiles ? c->nprofiles : 1) + c->nvariants;
    for (size_t k = 0; k < nseries; k++) {
      series_t *st = &sts[n++];
      st->a = a;
      st->preload = preload;
      size_t nprof = c->nprofiles ? c->nprofiles : 1;
      if (k < nprof) {
        st->profile = c->nprofiles ? c->profiles[k] : NULL;
      } else {
        st->profile = c->nprofiles ? c->profiles[0] : NULL;
        st->variant = &c->variants[k - nprof];
      }
      st->name = st->variant ? xasprintf("%s:%s", a->name, st->variant->label) : xstrdup(a->name);
      st->runs = calloc((size_t)c->o.runs, sizeof(run_result_t));
      if (st->runs == NULL) bench_die("out of memory");
    }
  }

  FILE *json = NULL;
  char *jpath = NULL;
  if (c->json != NULL && (json = bench_json_open(c->json, &jpath)) == NULL) return 1;

  bool progress = isatty(STDERR_FILENO);
  for (uint64_t run = 0; run < c->o.runs; run++) {
    for (size_t i = 0; i < n; i++) {
      series_t *st = &sts[i];
      const char *prof = (c->nprofiles > 1 && st->profile) ? st->profile : NULL;
      if (progress) {
        fprintf(stderr, "\r\033[K[%s] run %llu/%llu %s%s%s ...", w->name, (unsigned long long)run + 1,
                (unsigned long long)c->o.runs, st->name, prof ? " " : "", prof ? prof : "");
      }
      run_result_t *r = &st->runs[st->nruns++];
      run_worker(c, w, st, r);
      if (!r->ok && !st->failed) {
        st->failed = true;
        snprintf(st->error, sizeof(st->error), "run %llu: %s", (unsigned long long)run + 1, r->error);
      }
      if (progress && r->ok) {
        fprintf(stderr, "\r\033[K[%s] run %llu/%llu %s%s%s %.2f M op/s", w->name, (unsigned long long)run + 1,
                (unsigned long long)c->o.runs, st->name, prof ? " " : "", prof ? prof : "", r->ops_per_sec / 1e6);
      }
    }
  }
  if (progress) fputs("\r\033[K", stderr);

  summary_t sum[MAX_SERIES];
  double glibc_median = 0;
  for (size_t i = 0; i < n; i++) {
    sum[i] = summarize(&sts[i]);
    if (strcmp(sts[i].a->name, "glibc") == 0) glibc_median = sum[i].median;
  }
  FILE *table = (json == stdout) ? stderr : stdout;
  print_table(table, c, w, sts, n, sum, glibc_median);
  print_metrics(table, sts, n);
  fflush(table);
  int rc = 0;
  if (json != NULL) {
    print_json(json, c, w, sts, n, sum, glibc_median);
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
    free(sts[i].runs);
    free(sts[i].name);
  }
  return rc;
}

int bench_main(int argc, char **argv, const bench_workload_t *w) {
  const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
  g_prog = slash ? slash + 1 : (argc > 0 ? argv[0] : w->name);
  cmdline_t c;
  bool help;
  int rc = parse_cmdline(&c, argc, argv, w, &help);
  if (rc != 0) return rc;
  if (help) {
    usage(stdout, w);
    return 0;
  }
  if (c.worker != NULL) return worker_main(&c, w);
  ssize_t len = readlink("/proc/self/exe", g_exe, sizeof(g_exe) - 1);
  if (len <= 0) bench_die("readlink /proc/self/exe: %s", strerror(errno));
  g_exe[len] = '\0';
  return controller_main(&c, w, argc > 0 ? argv[0] : g_exe);
}

/* ------------------------------------------------------------------------ */
/* Building blocks for a driver with its own controller (soak.c, driver.h) */

void bench_program(int argc, char **argv) {
  const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
  g_prog = slash ? slash + 1 : (argc > 0 ? argv[0] : "bench");
  ssize_t len = readlink("/proc/self/exe", g_exe, sizeof(g_exe) - 1);
  if (len <= 0) bench_die("readlink /proc/self/exe: %s", strerror(errno));
  g_exe[len] = '\0';
}

const char *bench_allocator_name(const char *s, size_t len) {
  const alloc_info_t *a = find_alloc(s, len);
  return a ? a->name : NULL;
}

const char *bench_profile_name(const char *s, size_t len) {
  for (size_t k = 0; k < NPROFILES; k++) {
    if (strlen(k_profiles[k]) == len && strncasecmp(s, k_profiles[k], len) == 0) return k_profiles[k];
  }
  return NULL;
}

const char *bench_check_malloc(const char *allocator) {
  const alloc_info_t *a = find_alloc(allocator, strlen(allocator));
  if (a == NULL) bench_die("unknown allocator \"%s\"", allocator);
  const char *origin = malloc_origin();
  if (strstr(origin, a->lib_match) == NULL) {
    const char *pre = getenv("LD_PRELOAD");
    bench_die("worker for %s: malloc comes from %s, not from %s (LD_PRELOAD=%s)", a->name, origin, a->lib_match,
              pre ? pre : "(unset)");
  }
  return origin;
}

int bench_spawn(const char *allocator, const char *profile, const char *argv0, char *const *args, bool verbose,
                bench_child_t *child) {
  const alloc_info_t *a = find_alloc(allocator, strlen(allocator));
  if (a == NULL) {
    fprintf(stderr, "%s: unknown allocator \"%s\"\n", g_prog, allocator);
    return -1;
  }
  bool is_hakmem = strcmp(a->name, "hakmem") == 0;
  char lib[PATH_MAX];
  const char *preload = NULL;
  if (is_hakmem) {
    char tried[4096];
    if (!find_hakmem(argv0, lib, tried, sizeof(tried))) {
      fprintf(stderr,
              "%s: hakmem: libhakmem.so not found. Run the driver with bazel run (or bazel build\n"
              "//hakmem:libhakmem.so first). Looked in:\n%s",
              g_prog, tried);
      return -1;
    }
    preload = lib;
  } else if (a->lib != NULL) {
    if (!file_exists(a->lib)) {
      fprintf(stderr, "%s: %s: %s not found: install %s\n", g_prog, a->name, a->lib, a->package);
      return -1;
    }
    preload = a->lib;
  }
  char *preload_env = preload ? xasprintf("LD_PRELOAD=%s", preload) : NULL;
  char *profile_env = (is_hakmem && profile) ? xasprintf("HAKMEM_TINY_HEAP_PROFILE=%s", profile) : NULL;
  char *ru[16], *ru_copy;
  size_t nru = run_under_words(ru, 16, &ru_copy);
  bool qemu = nru > 0 && strstr(ru[0], "qemu-") != NULL;
  const char *extra[2];
  size_t nextra = 0;
  if (preload_env && !qemu) extra[nextra++] = preload_env;
  if (profile_env) extra[nextra++] = profile_env;
  char **env = worker_env(extra, nextra);

  size_t nargs = 0;
  while (args[nargs] != NULL) nargs++;
  char **argv = calloc(nru + 3 + nargs + 1, sizeof(char *));
  if (argv == NULL) bench_die("out of memory");
  size_t na = 0;
  for (size_t i = 0; i < nru; i++) argv[na++] = ru[i];
  if (qemu && preload_env) {
    argv[na++] = "-E";
    argv[na++] = preload_env;
  }
  argv[na++] = g_exe;
  for (size_t i = 0; i < nargs; i++) argv[na++] = args[i];
  argv[na] = NULL;
  if (verbose) {
    fprintf(stderr, "%s: worker: ", g_prog);
    print_command(stderr, (char *const *)extra, nextra, argv);
  }

  int rc = -1, in[2] = {-1, -1}, out[2] = {-1, -1};
  /* Close-on-exec: a worker started later must not hold this one's pipes
   * (its stdin would never see EOF). dup2 clears the flag on 0 and 1. */
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) bench_die("pipe: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  fflush(stdout);
  fflush(stderr);
  int err = nru > 0 ? posix_spawnp(&pid, argv[0], &fa, &attr, argv, env)
                    : posix_spawn(&pid, argv[0], &fa, &attr, argv, env);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (err != 0) {
    fprintf(stderr, "%s: cannot start %s: %s\n", g_prog, argv[0], strerror(err));
    close(in[1]);
    close(out[0]);
  } else {
    child->pid = (int)pid;
    child->in_fd = in[1];
    child->out_fd = out[0];
    rc = 0;
  }
  free(argv);
  free(ru_copy);
  free(env);
  free(preload_env);
  free(profile_env);
  return rc;
}
