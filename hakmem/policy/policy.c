/* hakmem/policy/policy.c — environment snapshot and derived routes (see
 * policy.h). */
#include "hakmem/policy/policy.h"

#include <stdbool.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/lock.h"
#include "hakmem/core/parse.h"
#include "hakmem/core/report.h"

extern char **environ;

static const char *const k_profiles[] = {"LEGACY", "C7_SAFE", "C7_ULTRA_BENCH", "CUSTOM", NULL};

#define VAR(field, name, def, min, max, names, meaning) \
  {offsetof(hk_policy_t, field), {name, def, min, max, names, meaning}}

/* The order is the README table's; explicit_vars bits follow it. */
enum {
  V_DRAIN, V_LRU, V_RESERVE, V_LCACHE, V_LDELAY, V_PROFILE, V_HEAP_BOX, V_HEAP_CLASSES, V_C7_META,
  V_C6_META, V_V2, V_V2_MASK, V_V2_LEFTOVER, V_V2_STATS, V_STATS, V_STATS_DUMP, V_CHECK
};

static const struct {
  size_t offset;
  hk_policy_var_t var;
} k_vars[] = {
    VAR(tiny_sll_drain_interval, "HAKMEM_TINY_SLL_DRAIN_INTERVAL", 2048, 0, 1u << 30, NULL,
        "no effect since the page-local core (no per-thread tiny lists to drain); still parsed"),
    VAR(ss_lru_max, "HAKMEM_SS_LRU_MAX", 4, 0, 1024, NULL,
        "fully empty 2 MiB SuperSlabs kept mapped (purged) for reuse before being unmapped"),
    VAR(empty_slab_reserve, "HAKMEM_EMPTY_SLAB_RESERVE", 4, 0, 1024, NULL,
        "EMPTY 64 KiB slabs per class kept unpurged for quick reuse"),
    VAR(large_cache_bytes, "HAKMEM_LARGE_CACHE_BYTES", (uint64_t)16 << 20, 0, (uint64_t)1 << 40, NULL,
        "bytes of freed large spans kept unpurged (K/M/G suffixes accepted)"),
    VAR(large_purge_delay_ms, "HAKMEM_LARGE_PURGE_DELAY_MS", 1000, 0, 3600u * 1000u, NULL,
        "idle time after which cached large spans are returned to the OS"),
    VAR(tiny_heap_profile, "HAKMEM_TINY_HEAP_PROFILE", HK_PROFILE_LEGACY, 0, HK_PROFILE_COUNT - 1,
        k_profiles, "default TinyHeap configuration (see Profiles)"),
    VAR(tiny_heap_box, "HAKMEM_TINY_HEAP_BOX", 1, 0, 1, NULL,
        "0 turns the TinyHeap route off for every class, whatever the profile or mask say"),
    VAR(tiny_heap_classes, "HAKMEM_TINY_HEAP_CLASSES", 0, 0, 0xff, NULL,
        "bit c: class Cc on the TinyHeap route; when set, wins over the profile's mask"),
    VAR(tiny_c7_meta_mode, "HAKMEM_TINY_C7_META_MODE", HK_META_PER_OP, 0, 2, NULL,
        "C7 on TinyHeap: 0 counters per operation, 1 SAFE (per-page deltas), 2 ULTRA (benchmarks only); "
        "when set, wins over the profile's"),
    VAR(tiny_c6_meta_mode, "HAKMEM_TINY_C6_META_MODE", HK_META_PER_OP, 0, 2, NULL,
        "C6 on TinyHeap: the same three modes as C7"),
    VAR(tiny_heap_v2, "HAKMEM_TINY_HEAP_V2", 0, 0, 1, NULL,
        "1 puts the L0 magazine (TinyHeapV2) in front of the pages of C0..C3"),
    VAR(tiny_heap_v2_class_mask, "HAKMEM_TINY_HEAP_V2_CLASS_MASK", 0xf, 0, 0xf, NULL,
        "bit c: class Cc (C0..C3) uses the L0 magazine"),
    VAR(tiny_heap_v2_leftover, "HAKMEM_TINY_HEAP_V2_LEFTOVER_MODE", 0, 0, 1, NULL,
        "L0 supply: 0 stealing (free fills the magazine first), 1 leftover (refills fill it from the page)"),
    VAR(tiny_heap_v2_stats, "HAKMEM_TINY_HEAP_V2_STATS", 0, 0, 1, NULL,
        "1 counts L0 magazine hits, misses and pushes (shown by the stats dump)"),
    VAR(stats, "HAKMEM_STATS", 0, 0, 1, NULL,
        "1 counts every operation per class (stats box); unset: boundary counters only under C7_SAFE, else off"),
    VAR(stats_dump, "HAKMEM_STATS_DUMP", 0, 0, 1, NULL, "1 prints the stats table on stderr at exit"),
    VAR(check, "HAKMEM_CHECK", 0, 0, 1, NULL,
        "1 = checked mode: every small malloc/free/realloc/malloc_usable_size tracks the block's state, "
        "so any double free or use of a freed pointer is reported (slower; see Bad frees)"),
};
#define NVARS (sizeof(k_vars) / sizeof(k_vars[0]))
_Static_assert(NVARS <= 64, "explicit_vars is a 64-bit mask");
_Static_assert(V_CHECK + 1 == NVARS, "enum follows the table");

size_t hk_policy_var_count(void) { return NVARS; }
const hk_policy_var_t *hk_policy_var(size_t i) { return i < NVARS ? &k_vars[i].var : NULL; }

static uint64_t *field(hk_policy_t *p, size_t i) { return (uint64_t *)((char *)p + k_vars[i].offset); }

uint64_t hk_policy_value(const hk_policy_t *p, size_t i) {
  return i < NVARS ? *(const uint64_t *)((const char *)p + k_vars[i].offset) : 0;
}

const char *hk_policy_profile_name(uint64_t profile) {
  return profile < HK_PROFILE_COUNT ? k_profiles[profile] : "?";
}

const char *hk_policy_route_name(uint8_t route) {
  switch (route & HK_ROUTE_BASE_MASK) {
    case HK_ROUTE_LIST: return "list";
    case HK_ROUTE_HEAP: return "heap";
    case HK_ROUTE_L0: return "l0";
    case HK_ROUTE_MID: return "mid";
    default: return "?";
  }
}

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

static bool same_name_nocase(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a >= 'a' && *a <= 'z' ? (char)(*a - 'a' + 'A') : *a;
    if (x != *b) return false;
  }
  return *a == *b;
}

static bool parse_value(const hk_policy_var_t *v, const char *val, uint64_t *out) {
  if (v->names != NULL) {
    for (uint64_t i = 0; v->names[i] != NULL; i++) {
      if (same_name_nocase(val, v->names[i])) {
        *out = i;
        return true;
      }
    }
    return false;
  }
  uint64_t x;
  if (!hk_parse_u64(val, &x) || x < v->min || x > v->max) return false;
  *out = x;
  return true;
}

static void warn_bad(size_t i, const char *val) {
  const hk_policy_var_t *v = &k_vars[i].var;
  if (i == V_HEAP_CLASSES || i == V_C7_META || i == V_STATS) {
    /* Unset, these follow the profile: say so rather than name a number. */
    hk_report("%s=\"%s\" is not a number in %lu..%lu; ignored, the profile's value applies", v->name, val,
              (unsigned long)v->min, (unsigned long)v->max);
  } else if (v->names != NULL) {
    hk_report("%s=\"%s\" is not one of LEGACY, C7_SAFE, C7_ULTRA_BENCH, CUSTOM; using %s", v->name, val,
              v->names[v->def]);
  } else {
    hk_report("%s=\"%s\" is not a number in %lu..%lu; using %lu", v->name, val, (unsigned long)v->min,
              (unsigned long)v->max, (unsigned long)v->def);
  }
}

/* The profile table: TinyHeap mask, C7 meta mode and stats level a profile
 * implies when the variables themselves are not set. */
static const struct {
  uint8_t mask, c7_meta, stats;
} k_profile_defaults[HK_PROFILE_COUNT] = {
    [HK_PROFILE_LEGACY] = {0x00, HK_META_PER_OP, HK_STATS_OFF},
    [HK_PROFILE_C7_SAFE] = {0x80, HK_META_SAFE, HK_STATS_BOUNDARY},
    [HK_PROFILE_C7_ULTRA_BENCH] = {0x80, HK_META_ULTRA, HK_STATS_OFF},
    [HK_PROFILE_CUSTOM] = {0x00, HK_META_PER_OP, HK_STATS_OFF},
};

static bool is_set(const hk_policy_t *p, unsigned v) { return (p->explicit_vars >> v) & 1u; }

/* Applies the precedence rules (policy.h) and fixes the route table. */
static void resolve(hk_policy_t *p) {
  uint64_t prof = p->tiny_heap_profile < HK_PROFILE_COUNT ? p->tiny_heap_profile : HK_PROFILE_LEGACY;
  uint8_t mask = is_set(p, V_HEAP_CLASSES) ? (uint8_t)p->tiny_heap_classes : k_profile_defaults[prof].mask;
  if (p->tiny_heap_box == 0) mask = 0;
  p->heap_mask = mask;
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) p->meta_mode[c] = HK_META_PER_OP;
  p->meta_mode[7] = is_set(p, V_C7_META) ? (uint8_t)p->tiny_c7_meta_mode : k_profile_defaults[prof].c7_meta;
  p->meta_mode[6] = (uint8_t)p->tiny_c6_meta_mode;
  p->l0_mask = p->tiny_heap_v2 ? (uint8_t)(p->tiny_heap_v2_class_mask & 0xf & ~mask) : 0;
  p->stats_level = is_set(p, V_STATS) ? (p->stats ? HK_STATS_ALL : HK_STATS_OFF) : k_profile_defaults[prof].stats;
  p->l0_stats = p->tiny_heap_v2_stats != 0;
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    uint8_t r;
    if (c >= HAK_TINY_CLASSES) r = HK_ROUTE_MID;
    else if ((mask >> c) & 1u) r = HK_ROUTE_HEAP;
    else if ((p->l0_mask >> c) & 1u) r = HK_ROUTE_L0;
    else r = HK_ROUTE_LIST;
    /* Counted: every operation (stats box), or the L0 magazine's own counters. */
    /* Checked mode takes the same out-of-line path (no fast-path cost when off). */
    if (p->stats_level == HK_STATS_ALL || (r == HK_ROUTE_L0 && p->l0_stats) || p->check) r |= HK_ROUTE_COUNTED;
    p->route[c] = r;
  }
}

void hk_policy_load(hk_policy_t *out, char *const *envp) {
  for (size_t i = 0; i < NVARS; i++) *field(out, i) = k_vars[i].var.def;
  out->explicit_vars = 0;
  for (char *const *e = envp; e != NULL && *e != NULL; e++) {
    if (!is_hakmem_var(*e)) continue;
    bool known = false;
    for (size_t i = 0; i < NVARS; i++) {
      const hk_policy_var_t *v = &k_vars[i].var;
      const char *val = match(*e, v->name);
      if (val == NULL) continue;
      known = true;
      uint64_t x;
      if (parse_value(v, val, &x)) {
        *field(out, i) = x;
        out->explicit_vars |= (uint64_t)1 << i;
      } else {
        warn_bad(i, val);
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
  resolve(out);
}

static hk_policy_t g_policy;
static hk_atomic_u32 g_loaded;
static hk_lock_t g_policy_lock;

const hk_policy_t *hk_policy_get(void) {
  if (HAK_LIKELY(hk_atomic_load_acquire(&g_loaded))) return &g_policy;
  hk_lock(&g_policy_lock);
  if (!hk_atomic_load_relaxed(&g_loaded)) {
    hk_policy_load(&g_policy, environ);
    for (unsigned c = 6; c < HAK_TINY_CLASSES; c++) {
      if (((g_policy.heap_mask >> c) & 1u) && g_policy.meta_mode[c] == HK_META_ULTRA) {
        hk_report("C%u meta mode ULTRA: SuperSlab counters are not maintained (benchmarks only)", c);
      }
    }
    hk_atomic_store_release(&g_loaded, 1u);
  }
  hk_unlock(&g_policy_lock);
  return &g_policy;
}
