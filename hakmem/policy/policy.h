/* hakmem/policy/policy.h — the policy box: every HAKMEM_* environment
 * variable, read once into an immutable snapshot.
 *
 * Owns: the table of variables (name, default, range, meaning), the scan of
 * `environ` (done by hand: it runs before main() and may not allocate), and
 * the one-time warnings for unknown or unparsable values. Nothing else in
 * HAKMEM reads the environment. Boundary: the API layer calls hk_policy_get()
 * at initialisation and hands the values to the boxes as their configs. */
#ifndef HAKMEM_POLICY_POLICY_H
#define HAKMEM_POLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hk_policy {
  uint64_t tiny_sll_drain_interval; /* HAKMEM_TINY_SLL_DRAIN_INTERVAL */
  uint64_t ss_lru_max;              /* HAKMEM_SS_LRU_MAX */
  uint64_t empty_slab_reserve;      /* HAKMEM_EMPTY_SLAB_RESERVE */
  uint64_t large_cache_bytes;       /* HAKMEM_LARGE_CACHE_BYTES */
  uint64_t large_purge_delay_ms;    /* HAKMEM_LARGE_PURGE_DELAY_MS */
} hk_policy_t;

/* The snapshot; built from the environment on the first call (thread-safe,
 * no allocation). */
const hk_policy_t *hk_policy_get(void);

/* Description of one variable, for documentation and tests. */
typedef struct hk_policy_var {
  const char *name;
  uint64_t def, min, max;
  const char *meaning;
} hk_policy_var_t;

/* Number of variables; hk_policy_var(i) for i < count. */
size_t hk_policy_var_count(void);
const hk_policy_var_t *hk_policy_var(size_t i);

/* Rebuilds the snapshot from an explicit environment (NULL-terminated
 * "NAME=value" array); for tests. Warnings go to stderr as at start-up. */
void hk_policy_load(hk_policy_t *out, char *const *envp);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_POLICY_POLICY_H */
