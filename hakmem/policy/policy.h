/* hakmem/policy/policy.h — the policy box: every HAKMEM_* environment
 * variable, read once into an immutable snapshot, and the decisions derived
 * from them (profile, class -> route table, meta modes, stats level).
 *
 * Owns: the table of variables (name, default, range or names, meaning), the
 * scan of `environ` (done by hand: it runs before main() and may not
 * allocate), the one-time warnings for unknown or unparsable values, the
 * profile table and its precedence rules (SPEC §3 "Policy box"):
 *   (1) HAKMEM_TINY_HEAP_BOX=0 turns TinyHeap off for every class;
 *   (2) an explicit HAKMEM_TINY_HEAP_CLASSES mask wins over the profile's;
 *   (3) otherwise the profile's mask;
 *   (4) an explicit HAKMEM_TINY_C7_META_MODE wins over the profile's.
 * The route of every small class is fixed here, at initialisation: the front
 * does size -> class -> route -> one branch. Nothing else in HAKMEM reads the
 * environment. Boundary: the API layer calls hk_policy_get() at
 * initialisation and hands the values to the boxes as their configs. */
#ifndef HAKMEM_POLICY_POLICY_H
#define HAKMEM_POLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "hakmem/core/size_class.h"

#ifdef __cplusplus
extern "C" {
#endif

/* HAKMEM_TINY_HEAP_PROFILE values. */
enum {
  HK_PROFILE_LEGACY = 0,         /* TinyHeap off (mask 0x00) */
  HK_PROFILE_C7_SAFE = 1,        /* mask 0x80, C7 meta mode SAFE, stats box on */
  HK_PROFILE_C7_ULTRA_BENCH = 2, /* mask 0x80, C7 meta mode ULTRA: benchmarks only */
  HK_PROFILE_CUSTOM = 3,         /* HAKMEM_TINY_HEAP_CLASSES / _C7_META_MODE as given */
  HK_PROFILE_COUNT
};

/* Routes of a small class (route[] below). The tiny front serves LIST, HEAP
 * and L0; MID is the mid pool. HK_ROUTE_COUNTED is or'ed into every route
 * when the stats box counts every operation or checked mode (HAKMEM_CHECK)
 * tracks every block: the inline fast paths compare for equality with the
 * plain routes, so a counted route always takes the out-of-line path that
 * counts and checks. */
enum {
  HK_ROUTE_LIST = 0, /* TLS singly-linked free lists (the legacy front) */
  HK_ROUTE_HEAP = 1, /* TinyHeap: per-page free lists, current/partial/full */
  HK_ROUTE_L0 = 2,   /* L0 magazine (TinyHeapV2) in front of the TLS lists */
  HK_ROUTE_MID = 3,  /* mid pool ring + pages */
  HK_ROUTE_COUNTED = 0x80,
  HK_ROUTE_BASE_MASK = 0x7f
};

/* Meta modes of a TinyHeap class: how slab/SuperSlab counters follow. */
enum {
  HK_META_PER_OP = 0, /* counters updated on every operation */
  HK_META_SAFE = 1,   /* per-page deltas flushed at page boundaries */
  HK_META_ULTRA = 2   /* SuperSlab counters not maintained: benchmarks only */
};

/* Stats box levels. */
enum {
  HK_STATS_OFF = 0,
  HK_STATS_BOUNDARY = 1, /* slow paths, page events, failures: no per-operation cost */
  HK_STATS_ALL = 2       /* also every fast-path operation (counted routes) */
};

typedef struct hk_policy {
  /* Variables, in table order (see hk_policy_var). */
  uint64_t tiny_sll_drain_interval; /* HAKMEM_TINY_SLL_DRAIN_INTERVAL */
  uint64_t ss_lru_max;              /* HAKMEM_SS_LRU_MAX */
  uint64_t empty_slab_reserve;      /* HAKMEM_EMPTY_SLAB_RESERVE */
  uint64_t large_cache_bytes;       /* HAKMEM_LARGE_CACHE_BYTES */
  uint64_t large_purge_delay_ms;    /* HAKMEM_LARGE_PURGE_DELAY_MS */
  uint64_t tiny_heap_profile;       /* HAKMEM_TINY_HEAP_PROFILE (HK_PROFILE_*) */
  uint64_t tiny_heap_box;           /* HAKMEM_TINY_HEAP_BOX */
  uint64_t tiny_heap_classes;       /* HAKMEM_TINY_HEAP_CLASSES */
  uint64_t tiny_c7_meta_mode;       /* HAKMEM_TINY_C7_META_MODE */
  uint64_t tiny_c6_meta_mode;       /* HAKMEM_TINY_C6_META_MODE */
  uint64_t tiny_heap_v2;            /* HAKMEM_TINY_HEAP_V2 */
  uint64_t tiny_heap_v2_class_mask; /* HAKMEM_TINY_HEAP_V2_CLASS_MASK */
  uint64_t tiny_heap_v2_leftover;   /* HAKMEM_TINY_HEAP_V2_LEFTOVER_MODE */
  uint64_t tiny_heap_v2_stats;      /* HAKMEM_TINY_HEAP_V2_STATS */
  uint64_t stats;                   /* HAKMEM_STATS */
  uint64_t stats_dump;              /* HAKMEM_STATS_DUMP */
  uint64_t check;                   /* HAKMEM_CHECK */
  uint64_t explicit_vars;           /* bit i: variable i was set to a valid value */

  /* Derived by the precedence rules. */
  uint8_t heap_mask;                     /* tiny classes on the TinyHeap route */
  uint8_t l0_mask;                       /* tiny classes on the L0 route */
  uint8_t meta_mode[HAK_TINY_CLASSES];   /* HK_META_* of each TinyHeap class */
  uint8_t route[HAK_SMALL_CLASSES];      /* HK_ROUTE_* (| HK_ROUTE_COUNTED) */
  uint8_t stats_level;                   /* HK_STATS_* */
  uint8_t l0_stats;                      /* count L0 magazine hits/misses */
} hk_policy_t;

/* The snapshot; built from the environment on the first call (thread-safe,
 * no allocation). */
const hk_policy_t *hk_policy_get(void);

/* Description of one variable, for documentation and tests. */
typedef struct hk_policy_var {
  const char *name;
  uint64_t def, min, max;
  const char *const *names; /* NULL: a number; else the accepted names, value = index */
  const char *meaning;
} hk_policy_var_t;

/* Number of variables; hk_policy_var(i) for i < count. */
size_t hk_policy_var_count(void);
const hk_policy_var_t *hk_policy_var(size_t i);
/* The variable's value in a snapshot (i < count). */
uint64_t hk_policy_value(const hk_policy_t *p, size_t i);

/* "LEGACY", "C7_SAFE", ...; "?" for an out-of-range value. */
const char *hk_policy_profile_name(uint64_t profile);
/* "list", "heap", "l0", "mid" (the COUNTED bit is ignored). */
const char *hk_policy_route_name(uint8_t route);

/* Rebuilds a snapshot from an explicit environment (NULL-terminated
 * "NAME=value" array); for tests. Warnings go to stderr as at start-up. */
void hk_policy_load(hk_policy_t *out, char *const *envp);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_POLICY_POLICY_H */
