/* hakmem/policy/policy.c — environment snapshot (see policy.h). */
#include "hakmem/policy/policy.h"

#include <stdbool.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/lock.h"
#include "hakmem/core/parse.h"
#include "hakmem/core/report.h"

extern char **environ;

#define VAR(field, name, def, min, max, meaning) {offsetof(hk_policy_t, field), {name, def, min, max, meaning}}

static const struct {
  size_t offset;
  hk_policy_var_t var;
} k_vars[] = {
    VAR(tiny_sll_drain_interval, "HAKMEM_TINY_SLL_DRAIN_INTERVAL", 2048, 0, 1u << 30,
        "frees between periodic drains of a thread's tiny free lists back to their slabs (0 = never)"),
    VAR(ss_lru_max, "HAKMEM_SS_LRU_MAX", 4, 0, 1024,
        "fully empty 2 MiB SuperSlabs kept mapped (purged) for reuse before being unmapped"),
    VAR(empty_slab_reserve, "HAKMEM_EMPTY_SLAB_RESERVE", 4, 0, 1024,
        "EMPTY 64 KiB slabs per class kept unpurged for quick reuse"),
    VAR(large_cache_bytes, "HAKMEM_LARGE_CACHE_BYTES", (uint64_t)16 << 20, 0, (uint64_t)1 << 40,
        "bytes of freed large spans kept unpurged (K/M/G suffixes accepted)"),
    VAR(large_purge_delay_ms, "HAKMEM_LARGE_PURGE_DELAY_MS", 1000, 0, 3600u * 1000u,
        "idle time after which cached large spans are returned to the OS"),
};
#define NVARS (sizeof(k_vars) / sizeof(k_vars[0]))

size_t hk_policy_var_count(void) { return NVARS; }
const hk_policy_var_t *hk_policy_var(size_t i) { return i < NVARS ? &k_vars[i].var : NULL; }

/* "NAME=value" -> value if the entry is for name, else NULL. */
static const char *match(const char *entry, const char *name) {
  while (*name && *entry == *name) {
    entry++;
    name++;
  }
  return (*name == '\0' && *entry == '=') ? entry + 1 : NULL;
}

static bool is_hakmem_var(const char *entry) {
  static const char prefix[] = "HAKMEM_";
  for (size_t i = 0; i < sizeof(prefix) - 1; i++) {
    if (entry[i] != prefix[i]) return false;
  }
  return true;
}

void hk_policy_load(hk_policy_t *out, char *const *envp) {
  for (size_t i = 0; i < NVARS; i++) {
    *(uint64_t *)((char *)out + k_vars[i].offset) = k_vars[i].var.def;
  }
  for (char *const *e = envp; e != NULL && *e != NULL; e++) {
    if (!is_hakmem_var(*e)) continue;
    bool known = false;
    for (size_t i = 0; i < NVARS; i++) {
      const hk_policy_var_t *v = &k_vars[i].var;
      const char *val = match(*e, v->name);
      if (val == NULL) continue;
      known = true;
      uint64_t x;
      if (!hk_parse_u64(val, &x) || x < v->min || x > v->max) {
        hk_report("%s=\"%s\" is not a number in %lu..%lu; using %lu", v->name, val,
                  (unsigned long)v->min, (unsigned long)v->max, (unsigned long)v->def);
      } else {
        *(uint64_t *)((char *)out + k_vars[i].offset) = x;
      }
    }
    if (!known) {
      /* Variables of later HAKMEM releases or typos: say so once, go on. */
      char name[64];
      size_t n = 0;
      while ((*e)[n] && (*e)[n] != '=' && n < sizeof(name) - 1) {
        name[n] = (*e)[n];
        n++;
      }
      name[n] = '\0';
      hk_report("unknown variable %s ignored", name);
    }
  }
}

static hk_policy_t g_policy;
static hk_atomic_u32 g_loaded;
static hk_lock_t g_policy_lock;

const hk_policy_t *hk_policy_get(void) {
  if (HAK_LIKELY(hk_atomic_load_acquire(&g_loaded))) return &g_policy;
  hk_lock(&g_policy_lock);
  if (!hk_atomic_load_relaxed(&g_loaded)) {
    hk_policy_load(&g_policy, environ);
    hk_atomic_store_release(&g_loaded, 1u);
  }
  hk_unlock(&g_policy_lock);
  return &g_policy;
}
