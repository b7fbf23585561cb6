/* benchmarks/xthread.c — cross-thread producer/consumer: every block is
 * allocated on one thread and freed on another.
 *
 * --threads=N runs N producer/consumer pairs: 2N threads, producer i
 * (thread index i) feeding consumer i (index N + i) through a bounded queue
 * of its own. A producer repeatedly allocates a block of a random size in
 * [--min, --max] (default 16..4096 B; splitmix64 from the thread's seed, the
 * high 32 bits of each draw giving the size), writes it — an 8-byte stamp
 * (size and sequence number) at its start and a check byte at its end — and
 * passes it on in batches of 32. The consumer takes what is queued (up to
 * 256 at a time), checks each block's stamp (its size, the sequence number
 * expected next: nothing lost, duplicated or reordered) and its last byte,
 * and frees it.
 *
 * The queue is a preallocated ring of --ws block pointers (default 1024:
 * what may be in flight per pair) under a mutex, with two condition
 * variables: nothing in the measured loop allocates but the producers'
 * malloc. All waits block (no spinning: 8 pairs on 2 cores run fine). To
 * keep wake-ups rare, a waiting consumer is woken once the ring is half full
 * (or closed) and a waiting producer once it is half empty.
 *
 * The run is timed (driver.h): producers stop after --seconds (default 1,
 * checked once per batch) or, with --iters=N, after N blocks each, whichever
 * comes first; then they close their queues and the consumers free what is
 * left before the end barrier. --iters alone gives exactly N blocks per
 * producer (the regression gate and callgrind use that).
 *
 * One op = one block: one malloc() on a producer (+ the stamp and check
 * byte written) and, through the queue, one free() on a consumer (+ the
 * checks); ops/s = blocks freed by all consumers / the elapsed seconds from
 * the start barrier to the end barrier, queue costs included (a mutex
 * round-trip per 32 blocks on either side). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "benchmarks/driver.h"

#define XT_BATCH 32  /* blocks a producer queues at a time */
#define XT_TAKE 256  /* blocks a consumer takes at a time, at most */
#define XT_SEQ_BITS 40
#define XT_SEQ_MASK ((UINT64_C(1) << XT_SEQ_BITS) - 1)
#define XT_MAX_SIZE ((uint64_t)1 << 24) /* sizes fit the stamp's 24 bits */

/* One producer -> consumer queue (a ring of block pointers). */
typedef struct xt_ring {
  _Alignas(64) pthread_mutex_t mu;
  pthread_cond_t can_take, can_put;
  unsigned char **buf;
  uint32_t cap, head, count;
  uint32_t takers, putters; /* threads waiting on can_take / can_put */
  bool closed;
} xt_ring_t;

typedef struct xt_shared {
  xt_ring_t *rings;
  size_t n;
} xt_shared_t;

static inline uint64_t xt_stamp(size_t size, uint64_t seq) {
  return ((uint64_t)size << XT_SEQ_BITS) | (seq & XT_SEQ_MASK);
}

static inline unsigned char xt_tail(uint64_t stamp) { return (unsigned char)(stamp * 0x9e3779b97f4a7c15ull >> 56); }

static void *xt_init(const bench_opts_t *o) {
  xt_shared_t *sh = malloc(sizeof(*sh));
  if (sh == NULL) bench_die("out of memory");
  sh->n = (size_t)o->threads;
  sh->rings = aligned_alloc(64, sh->n * sizeof(xt_ring_t));
  if (sh->rings == NULL) bench_die("out of memory for %zu queues", sh->n);
  for (size_t i = 0; i < sh->n; i++) {
    xt_ring_t *r = &sh->rings[i];
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->can_take, NULL);
    pthread_cond_init(&r->can_put, NULL);
    r->cap = (uint32_t)o->ws;
    r->buf = malloc(r->cap * sizeof(*r->buf));
    if (r->buf == NULL) bench_die("out of memory for a queue of %u", r->cap);
  }
  return sh;
}

static void xt_fini(void *shared) {
  xt_shared_t *sh = shared;
  for (size_t i = 0; i < sh->n; i++) {
    xt_ring_t *r = &sh->rings[i];
    if (r->count != 0) bench_die("queue %zu still holds %u blocks after the run", i, r->count);
    free(r->buf);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->can_take);
    pthread_cond_destroy(&r->can_put);
  }
  free(sh->rings);
  free(sh);
}

/* Queues k <= cap/2 blocks, waiting while there is no room. */
static void xt_put(xt_ring_t *r, unsigned char **v, uint32_t k) {
  pthread_mutex_lock(&r->mu);
  while (r->cap - r->count < k) {
    r->putters++;
    pthread_cond_wait(&r->can_put, &r->mu);
    r->putters--;
  }
  uint32_t tail = r->head + r->count;
  for (uint32_t i = 0; i < k; i++, tail++) r->buf[tail >= r->cap ? tail - r->cap : tail] = v[i];
  r->count += k;
  bool wake = r->takers > 0 && r->count >= r->cap / 2;
  pthread_mutex_unlock(&r->mu);
  if (wake) pthread_cond_signal(&r->can_take);
}

static void xt_close(xt_ring_t *r) {
  pthread_mutex_lock(&r->mu);
  r->closed = true;
  bool wake = r->takers > 0;
  pthread_mutex_unlock(&r->mu);
  if (wake) pthread_cond_signal(&r->can_take);
}

/* Takes up to max blocks, waiting while the queue is empty and open; 0 when
 * it is closed and empty. */
static uint32_t xt_take(xt_ring_t *r, unsigned char **v, uint32_t max) {
  pthread_mutex_lock(&r->mu);
  while (r->count == 0 && !r->closed) {
    r->takers++;
    pthread_cond_wait(&r->can_take, &r->mu);
    r->takers--;
  }
  uint32_t k = r->count < max ? r->count : max;
  uint32_t head = r->head;
  for (uint32_t i = 0; i < k; i++) {
    v[i] = r->buf[head];
    head = head + 1 == r->cap ? 0 : head + 1;
  }
  r->head = head;
  r->count -= k;
  bool wake = r->putters > 0 && r->cap - r->count >= r->cap / 2;
  pthread_mutex_unlock(&r->mu);
  if (wake) pthread_cond_signal(&r->can_put);
  return k;
}

static void xt_produce(bench_thread_t *t, xt_ring_t *r) {
  const bench_opts_t *o = t->opts;
  const uint64_t cap = o->iters ? o->iters : UINT64_MAX;
  const uint32_t min = (uint32_t)o->min, span = (uint32_t)(o->max - o->min + 1);
  unsigned char *batch[XT_BATCH];
  uint64_t x = t->seed, seq = 0;
  while (seq < cap) {
    uint32_t k = 0;
    for (; k < XT_BATCH && seq < cap; k++, seq++) {
      size_t size = (size_t)min + bench_below((uint32_t)(bench_rand(&x) >> 32), span);
      unsigned char *p = malloc(size);
      if (__builtin_expect(p == NULL, 0)) bench_die("malloc(%zu) failed", size);
      uint64_t stamp = xt_stamp(size, seq);
      memcpy(p, &stamp, sizeof(stamp));
      p[size - 1] = xt_tail(stamp);
      batch[k] = p;
    }
    xt_put(r, batch, k);
    if (bench_stopped(t)) break;
  }
  xt_close(r);
  t->ops = 0; /* counted by the consumer */
}

static void xt_consume(bench_thread_t *t, xt_ring_t *r) {
  const uint64_t min = t->opts->min, max = t->opts->max;
  unsigned char *got[XT_TAKE];
  uint64_t n = 0;
  uint32_t k;
  while ((k = xt_take(r, got, XT_TAKE)) != 0) {
    for (uint32_t i = 0; i < k; i++, n++) {
      unsigned char *p = got[i];
      uint64_t stamp;
      memcpy(&stamp, p, sizeof(stamp));
      uint64_t size = stamp >> XT_SEQ_BITS;
      if (__builtin_expect(size < min || size > max || (stamp & XT_SEQ_MASK) != (n & XT_SEQ_MASK) ||
                               p[size - 1] != xt_tail(stamp),
                           0)) {
        bench_die("consumer %u: block %llu (%p) is not what its producer wrote (stamp %#llx)",
                  t->index - (unsigned)t->opts->threads, (unsigned long long)n, (void *)p,
                  (unsigned long long)stamp);
      }
      free(p);
    }
  }
  t->ops = n;
}

static void xt_setup(bench_thread_t *t) { t->state = NULL; }

static void xt_run(bench_thread_t *t) {
  xt_shared_t *sh = t->shared;
  if (t->index < sh->n) {
    xt_produce(t, &sh->rings[t->index]);
  } else {
    xt_consume(t, &sh->rings[t->index - sh->n]);
  }
}

static void xt_teardown(bench_thread_t *t) { t->state = NULL; }

static const char *xt_check(const bench_opts_t *o) {
  if (o->min < 16) return "xthread writes an 8-byte stamp and a check byte: --min must be at least 16";
  if (o->max > XT_MAX_SIZE) return "xthread: --max is at most 16777216 (16 MiB)";
  if (o->ws < 2 * XT_BATCH || o->ws > ((uint64_t)1 << 20)) {
    return "xthread: --ws (queue capacity, blocks) must be in 64..1048576";
  }
  return NULL;
}

static const bench_workload_t k_xthread = {
    .name = "xthread",
    .summary = "xthread: --threads=N producer/consumer pairs (2N threads). Producers allocate blocks of random "
               "sizes in [min, max] (default 16..4096 B), write a stamp and a check byte, and queue them in "
               "batches of 32 to their consumer through a bounded ring of --ws pointers (mutex + condition "
               "variables, no spinning); consumers check and free them. Runs --seconds (or --iters blocks per "
               "producer).",
    .op = "one block: malloc() of a random size in [min, max] on a producer (stamp and last byte written) and "
          "free() on its consumer (after checking them); queue costs included; ops summed over the pairs",
    .defaults =
        {
            .iters = 0,
            .duration_ns = 1000000000ull,
            .ws = 1024,
            .threads = 2,
            .seed = 1,
            .min = 16,
            .max = 4096,
        },
    .check = xt_check,
    .init = xt_init,
    .setup = xt_setup,
    .run = xt_run,
    .teardown = xt_teardown,
    .fini = xt_fini,
    .timed = true,
    .thread_factor = 2,
    .thread_unit = "producer/consumer pair",
    .ws_help = "queue capacity per pair: blocks in flight at most",
};

int main(int argc, char **argv) { return bench_main(argc, argv, &k_xthread); }
