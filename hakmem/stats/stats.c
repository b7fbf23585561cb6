/* hakmem/stats/stats.c — counter totals and the stats table (see stats.h). */
#include "hakmem/stats/stats.h"

#include <unistd.h>

#include "hakmem/core/report.h"

static hk_stats_thread_t g_retired;

void hk_stats_retire(const hk_stats_thread_t *t) {
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    for (unsigned i = 0; i < HK_ST_COUNT; i++) {
      uint64_t v = atomic_load_explicit(&t->cls[c][i], memory_order_relaxed);
      if (v) atomic_fetch_add_explicit(&g_retired.cls[c][i], v, memory_order_relaxed);
    }
  }
  for (unsigned c = 0; c < 4; c++) {
    for (unsigned i = 0; i < HK_L0_COUNT; i++) {
      uint64_t v = atomic_load_explicit(&t->l0[c][i], memory_order_relaxed);
      if (v) atomic_fetch_add_explicit(&g_retired.l0[c][i], v, memory_order_relaxed);
    }
  }
}

void hk_stats_count_shared(unsigned cls, unsigned event) {
  atomic_fetch_add_explicit(&g_retired.cls[cls][event], 1, memory_order_relaxed);
}

void hk_stats_accumulate(hak_front_stats_t *out, const hk_stats_thread_t *t) {
  if (t == NULL) t = &g_retired;
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    hak_class_stats_t *o = &out->cls[c];
    uint64_t v[HK_ST_COUNT];
    for (unsigned i = 0; i < HK_ST_COUNT; i++) v[i] = atomic_load_explicit(&t->cls[c][i], memory_order_relaxed);
    o->fast += v[HK_ST_FAST];
    o->slow += v[HK_ST_SLOW];
    o->fallback += v[HK_ST_FALLBACK];
    o->prepare_fail += v[HK_ST_PREPARE_FAIL];
    o->fail += v[HK_ST_FAIL];
    o->free_fast += v[HK_ST_FREE_FAST];
    o->free_slow += v[HK_ST_FREE_SLOW];
    o->free_remote += v[HK_ST_FREE_REMOTE];
  }
  for (unsigned c = 0; c < 4; c++) {
    out->l0_hit[c] += atomic_load_explicit(&t->l0[c][HK_L0_HIT], memory_order_relaxed);
    out->l0_miss[c] += atomic_load_explicit(&t->l0[c][HK_L0_MISS], memory_order_relaxed);
    out->l0_push[c] += atomic_load_explicit(&t->l0[c][HK_L0_PUSH], memory_order_relaxed);
    out->l0_pass[c] += atomic_load_explicit(&t->l0[c][HK_L0_PASS], memory_order_relaxed);
  }
}

/* ---- the table ---------------------------------------------------------------- */

typedef struct out {
  int fd;
} out_t;

static void line(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(out_t *o, const char *fmt, ...) {
  char buf[HAK_REPORT_MAX];
  va_list ap;
  va_start(ap, fmt);
  size_t n = hk_vformat(buf, sizeof(buf) - 1, fmt, ap);
  va_end(ap);
  buf[n++] = '\n';
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(o->fd, p, n);
    if (w <= 0) return; /* nothing sensible to do about a failed diagnostic write */
    p += w;
    n -= (size_t)w;
  }
}

static const char *route_name(unsigned r) {
  static const char *const names[] = {"list", "heap", "l0", "mid"};
  return r < 4 ? names[r] : "?";
}

static const char *meta_name(const hak_class_stats_t *c) {
  static const char *const names[] = {"per-op", "safe", "ultra"};
  if (c->route != HAK_ROUTE_HEAP) return "-";
  return c->meta_mode < 3 ? names[c->meta_mode] : "?";
}

static const char *level_name(uint32_t level) {
  static const char *const names[] = {"off", "boundary", "all"};
  return level < 3 ? names[level] : "?";
}

static const char *profile_name(uint32_t p) {
  static const char *const names[] = {"LEGACY", "C7_SAFE", "C7_ULTRA_BENCH", "CUSTOM"};
  return p < 4 ? names[p] : "?";
}

static unsigned long ul(uint64_t v) { return (unsigned long)v; }

void hk_stats_write(int fd, const hak_front_stats_t *f, const hak_stats_t *g) {
  out_t o = {fd};
  uint64_t total = 0;
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    const hak_class_stats_t *k = &f->cls[c];
    total += k->fast + k->slow + k->fallback + k->fail;
  }
  line(&o, "hakmem-stats 1");
  line(&o, "level %s profile %s counters %s", level_name(f->level), profile_name(f->profile),
       f->counters_maintained ? "maintained" : "not-maintained(ULTRA)");
  line(&o, "# classes");
  line(&o, "class size route meta share_permille fast slow fallback prepare_fail fail free_fast free_slow "
           "free_remote");
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    const hak_class_stats_t *k = &f->cls[c];
    uint64_t n = k->fast + k->slow + k->fallback + k->fail;
    line(&o, "C%u %u %s %s %lu %lu %lu %lu %lu %lu %lu %lu %lu", c, k->block_size, route_name(k->route),
         meta_name(k), total ? ul(n * 1000 / total) : 0ul, ul(k->fast), ul(k->slow), ul(k->fallback),
         ul(k->prepare_fail), ul(k->fail), ul(k->free_fast), ul(k->free_slow), ul(k->free_remote));
  }
  line(&o, "# sources");
  line(&o, "class size page remote full_scan adopt empty unused new oom");
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    const hak_class_stats_t *k = &f->cls[c];
    line(&o, "C%u %u %lu %lu %lu %lu %lu %lu %lu %lu", c, k->block_size, ul(k->src_page), ul(k->src_remote),
         ul(k->src_full_scan), ul(k->src_adopt), ul(k->src_empty), ul(k->src_unused), ul(k->src_new),
         ul(k->src_oom));
  }
  line(&o, "# l0");
  line(&o, "class enabled hit miss push pass");
  for (unsigned c = 0; c < 4; c++) {
    line(&o, "C%u %u %lu %lu %lu %lu", c, (f->l0_enabled >> c) & 1u, ul(f->l0_hit[c]), ul(f->l0_miss[c]),
         ul(f->l0_push[c]), ul(f->l0_pass[c]));
  }
  line(&o, "# os");
  line(&o, "mmap_calls munmap_calls madvise_calls mapped_bytes purged_bytes superslabs_live superslabs_cached "
           "slabs_active small_live_blocks large_live large_live_bytes large_cached_bytes threads_live");
  line(&o, "%lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu", ul(g->os_mmap_calls), ul(g->os_munmap_calls),
       ul(g->os_madvise_calls), ul(g->os_mapped_bytes), ul(g->os_purged_bytes), ul(g->superslabs_live),
       ul(g->superslabs_cached), ul(g->slabs_active), ul(g->small_live_blocks), ul(g->large_live),
       ul(g->large_live_bytes), ul(g->large_cached_bytes), ul(g->threads_live));
  line(&o, "# end");
}
