/* hakmem/stats/stats.h — the stats box (SPEC §3 "Stats box").
 *
 * Owns: the per-thread counter block (per small class: fast, slow, fallback,
 * prepare_fail, fail, free_fast, free_slow, free_remote; per L0 class: hit,
 * miss, push, pass), the totals of exited threads, and the text format of
 * the stats table (hak_stats_print, HAKMEM_STATS_DUMP). Counters are written
 * only by their own thread with relaxed atomic load + store (a plain
 * increment in the machine code, no locked instruction) so that readers in
 * other threads see whole values without a data race.
 * Boundary: the API layer decides when to count (the stats level of the
 * policy box: counted routes for every operation, slow paths for boundary
 * events), owns the list of live threads and fills hak_front_stats_t from
 * these blocks, the segment box's page sources and the policy. Nothing here
 * allocates. */
#ifndef HAKMEM_STATS_STATS_H
#define HAKMEM_STATS_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "hakmem/core/compiler.h"
#include "hakmem/core/size_class.h"
#include "hakmem/hakmem.h"

enum {
  HK_ST_FAST = 0,
  HK_ST_SLOW,
  HK_ST_FALLBACK,
  HK_ST_PREPARE_FAIL,
  HK_ST_FAIL,
  HK_ST_FREE_FAST,
  HK_ST_FREE_SLOW,
  HK_ST_FREE_REMOTE,
  HK_ST_COUNT
};
enum { HK_L0_HIT = 0, HK_L0_MISS, HK_L0_PUSH, HK_L0_PASS, HK_L0_COUNT };

typedef _Atomic(uint64_t) hk_stat_t;

typedef struct hk_stats_thread {
  hk_stat_t cls[HAK_SMALL_CLASSES][HK_ST_COUNT];
  hk_stat_t l0[4][HK_L0_COUNT];
} hk_stats_thread_t;

/* One increment by the counter's owner (or under the lock that serialises
 * its users). */
HAK_INLINE void hk_stat_inc(hk_stat_t *c) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* Thread exit: adds the block to the totals of exited threads (any thread
 * may call it; atomic adds). */
void hk_stats_retire(const hk_stats_thread_t *t);

/* Counts one event of class cls for a thread without a counter block (a
 * thread that only frees): atomic add into the shared totals. */
void hk_stats_count_shared(unsigned cls, unsigned event);

/* Adds a block's counters (live thread) or the exited threads' totals
 * (t == NULL) to out's class and L0 counters. */
void hk_stats_accumulate(hak_front_stats_t *out, const hk_stats_thread_t *t);

/* Writes the table for f (front counters) and g (process numbers) to fd. */
void hk_stats_write(int fd, const hak_front_stats_t *f, const hak_stats_t *g);

#endif /* HAKMEM_STATS_STATS_H */
