/* hakmem/large/large.c — large objects: page spans in 2 MiB large segments,
 * and very large requests in mappings of their own (see large.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "hakmem/core/bits.h"
#include "hakmem/core/lock.h"
#include "hakmem/core/os.h"
#include "hakmem/core/report.h"
#include "hakmem/large/large.h"

#define LS_PAGES (HK_SS_SIZE / HK_LARGE_PAGE) /* 512; page 0 is the header */
#define LS_WORDS (LS_PAGES / 64)
#define LS_MAGIC 0x48414b4d4c524753ull /* "HAKMLRGS" */
#define HUGE_MAGIC 0x48414b4d48554745ull /* "HAKMHUGE" */

typedef struct hk_large_seg {
  uint64_t magic;
  struct hk_large_seg *next, *prev;   /* g_nonfull: segments with free pages */
  struct hk_large_seg *dnext, *dprev; /* g_dirty FIFO: segments with dirty pages */
  uint64_t dirty_since;               /* ms: when its oldest dirty page was freed */
  uint32_t free_pages;
  uint32_t dirty_pages;
  uint32_t hint; /* upper bound of the longest free run */
  uint8_t on_nonfull, on_dirty;
  uint8_t unpurgeable; /* the OS refused a purge with EINVAL (locked pages, mlockall):
                        * stop trying until the next explicit trim */
  uint64_t used[LS_WORDS];  /* page belongs to a live span (page 0 always) */
  uint64_t dirty[LS_WORDS]; /* free page that may hold data (not purged) */
  uint16_t span_len[LS_PAGES];   /* at a span's first page: pages in the span */
  uint16_t user_start[LS_PAGES]; /* at the user pointer's page: first page + 1 */
} hk_large_seg_t;

typedef struct hk_huge {
  uint64_t magic;
  size_t map_size;
  size_t user_off;
} hk_huge_t;

_Static_assert(sizeof(hk_large_seg_t) <= HK_LARGE_PAGE, "large segment header fits in page 0");

static hk_lock_t g_large_lock;
static hk_large_seg_t *g_nonfull;               /* segments with free pages */
static hk_large_seg_t *g_dirty, *g_dirty_tail;  /* oldest dirty first */
static hk_large_seg_t *g_spare; /* one fully free segment kept mapped (purged) */
static hk_large_config_t g_cfg = {.cache_bytes = (size_t)16 << 20, .purge_delay_ms = 1000};
static size_t g_cached_bytes;  /* dirty free pages, in bytes */
static hk_large_stats_t g_st;

void hk_large_configure(const hk_large_config_t *cfg) {
  hk_lock(&g_large_lock);
  g_cfg = *cfg;
  hk_unlock(&g_large_lock);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- page bitmaps ------------------------------------------------------ */

static bool bit_get(const uint64_t *m, unsigned i) { return (m[i / 64] >> (i % 64)) & 1u; }

static void bits_set(uint64_t *m, unsigned from, unsigned n, bool on) {
  for (unsigned i = from; i < from + n; i++) {
    uint64_t b = (uint64_t)1 << (i % 64);
    if (on) m[i / 64] |= b;
    else m[i / 64] &= ~b;
  }
}

/* Highest set bit of m in [from, from+n), or -1. */
static int last_set(const uint64_t *m, unsigned from, unsigned n) {
  for (unsigned i = from + n; i-- > from;) {
    if (bit_get(m, i)) return (int)i;
  }
  return -1;
}

/* First page index u >= 1 with u % step == 0 and pages [u, u+n) free. */
static int find_run(const hk_large_seg_t *s, unsigned n, unsigned step) {
  unsigned u = step;
  while (u + n <= LS_PAGES) {
    int used = last_set(s->used, u, n);
    if (used < 0) return (int)u;
    u = (unsigned)hk_bits_align_up((size_t)used + 1, step);
  }
  return -1;
}

/* ---- segment lists ----------------------------------------------------- */

static void nonfull_add(hk_large_seg_t *s) {
  if (s->on_nonfull) return;
  s->on_nonfull = 1;
  s->prev = NULL;
  s->next = g_nonfull;
  if (g_nonfull) g_nonfull->prev = s;
  g_nonfull = s;
}

static void nonfull_remove(hk_large_seg_t *s) {
  if (!s->on_nonfull) return;
  s->on_nonfull = 0;
  if (s->prev) s->prev->next = s->next;
  else g_nonfull = s->next;
  if (s->next) s->next->prev = s->prev;
  s->next = s->prev = NULL;
}

static void dirty_add(hk_large_seg_t *s, uint64_t now) {
  if (s->on_dirty) return;
  s->on_dirty = 1;
  s->dirty_since = now;
  s->dnext = NULL;
  s->dprev = g_dirty_tail;
  if (g_dirty_tail) g_dirty_tail->dnext = s;
  else g_dirty = s;
  g_dirty_tail = s;
}

static void dirty_remove(hk_large_seg_t *s) {
  if (!s->on_dirty) return;
  s->on_dirty = 0;
  if (s->dprev) s->dprev->dnext = s->dnext;
  else g_dirty = s->dnext;
  if (s->dnext) s->dnext->dprev = s->dprev;
  else g_dirty_tail = s->dprev;
  s->dnext = s->dprev = NULL;
}

/* ---- purging ------------------------------------------------------------- */

/* Returns the dirty pages of s to the OS, one madvise per run. Only the part
 * of a run that covers whole OS pages is purged (the OS page may be larger
 * than HK_LARGE_PAGE); pages stay dirty, so calloc zeroes them, unless the
 * purge succeeded. EINVAL (locked pages) marks s unpurgeable; any other
 * refusal (EAGAIN, ENOMEM) is taken as passing: s goes to the end of the
 * dirty FIFO to be retried later, and false tells the caller to stop this
 * round of purging. */
static bool seg_purge(hk_large_seg_t *s) {
  const uintptr_t base = (uintptr_t)s;
  const size_t os_page = hk_os_page_size();
  for (unsigned i = 1; i < LS_PAGES && s->dirty_pages > 0 && !s->unpurgeable;) {
    if (s->dirty[i / 64] >> (i % 64) == 0) { /* rest of this word is clean */
      i = (i / 64 + 1) * 64;
      continue;
    }
    if (!bit_get(s->dirty, i)) {
      i++;
      continue;
    }
    unsigned j = i;
    while (j < LS_PAGES && bit_get(s->dirty, j)) j++;
    uintptr_t from = hk_bits_align_up(base + (size_t)i * HK_LARGE_PAGE, os_page);
    uintptr_t to = hk_bits_align_down(base + (size_t)j * HK_LARGE_PAGE, os_page);
    if (from < to) {
      int rc = hk_os_purge((void *)from, to - from);
      if (rc == 0) {
        unsigned a = (unsigned)((from - base) / HK_LARGE_PAGE), n = (unsigned)((to - from) / HK_LARGE_PAGE);
        bits_set(s->dirty, a, n, false);
        s->dirty_pages -= n;
        g_cached_bytes -= (size_t)n * HK_LARGE_PAGE;
      } else if (rc == EINVAL) {
        s->unpurgeable = 1;
      } else {
        dirty_remove(s);
        dirty_add(s, now_ms());
        return false;
      }
    }
    i = j;
  }
  dirty_remove(s);
  return true;
}

/* Purges the segments dirty the longest until the cache is within its byte
 * bound, then those idle past the purge delay. */
static void maybe_purge_locked(void) {
  if (g_dirty == NULL) return;
  while (g_dirty != NULL && g_cached_bytes > g_cfg.cache_bytes) {
    if (!seg_purge(g_dirty)) return;
  }
  uint64_t now = now_ms();
  while (g_dirty != NULL && now - g_dirty->dirty_since >= g_cfg.purge_delay_ms) {
    if (!seg_purge(g_dirty)) return;
  }
}

static void purge_all_locked(void) {
  while (g_dirty != NULL) {
    if (!seg_purge(g_dirty)) return;
  }
}

/* An explicit trim tries again where the OS refused for good: the pages may
 * have been unlocked since. */
static void seg_unmark(hk_large_seg_t *s, uint64_t now) {
  if (!s->unpurgeable) return;
  s->unpurgeable = 0;
  if (s->dirty_pages > 0) dirty_add(s, now);
}

/* ---- segments ------------------------------------------------------------ */

static hk_large_seg_t *seg_new(void) {
  if (g_spare != NULL) {
    hk_large_seg_t *s = g_spare;
    g_spare = NULL;
    nonfull_add(s);
    return s;
  }
  hk_large_seg_t *s = (hk_large_seg_t *)hk_region_map(HK_SS_SIZE, HK_SS_SIZE, HK_REGION_LARGE);
  if (s == NULL) return NULL;
  s->magic = LS_MAGIC;
  s->free_pages = LS_PAGES - 1;
  s->hint = LS_PAGES - 1;
  bits_set(s->used, 0, 1, true);
  g_st.segments++;
  nonfull_add(s);
  return s;
}

static void seg_unmap(hk_large_seg_t *s) {
  s->magic = 0;
  hk_region_unmap(s, HK_SS_SIZE);
  g_st.segments--;
}

/* A segment whose last span was freed: kept (purged) as the spare, or unmapped. */
static void seg_retire(hk_large_seg_t *s) {
  nonfull_remove(s);
  if (g_spare == NULL) {
    /* Its dirty pages stay cached (and on the dirty FIFO): purged by the
     * byte bound or the delay like any other freed span. */
    s->hint = LS_PAGES - 1;
    g_spare = s;
    return;
  }
  g_cached_bytes -= (size_t)s->dirty_pages * HK_LARGE_PAGE;
  dirty_remove(s);
  seg_unmap(s);
}

static void *seg_alloc_locked(size_t pages, size_t align, bool *zeroed) {
  unsigned step = align > HK_LARGE_PAGE ? (unsigned)(align / HK_LARGE_PAGE) : 1u;
  for (int pass = 0; pass < 2; pass++) {
    for (hk_large_seg_t *s = g_nonfull; s != NULL; s = s->next) {
      if (s->free_pages < pages || (step == 1 && s->hint < pages)) continue;
      int u = find_run(s, (unsigned)pages, step);
      if (u < 0) {
        if (step == 1) s->hint = (uint32_t)pages - 1;
        continue;
      }
      bits_set(s->used, (unsigned)u, (unsigned)pages, true);
      uint32_t dirty = 0;
      for (unsigned i = (unsigned)u; i < (unsigned)u + pages; i++) dirty += bit_get(s->dirty, i);
      if (dirty) {
        bits_set(s->dirty, (unsigned)u, (unsigned)pages, false);
        s->dirty_pages -= dirty;
        g_cached_bytes -= (size_t)dirty * HK_LARGE_PAGE;
        if (s->dirty_pages == 0) dirty_remove(s);
      }
      *zeroed = dirty == 0;
      s->free_pages -= (uint32_t)pages;
      if (s->free_pages == 0) nonfull_remove(s);
      s->span_len[u] = (uint16_t)pages;
      s->user_start[u] = (uint16_t)(u + 1);
      g_st.live++;
      g_st.live_bytes += pages * HK_LARGE_PAGE;
      return (uint8_t *)s + (size_t)u * HK_LARGE_PAGE;
    }
    if (pass == 0 && seg_new() == NULL) return NULL;
  }
  return NULL;
}

/* ---- huge ------------------------------------------------------------------ */

static void *huge_alloc(size_t size, size_t align, bool *zeroed) {
  size_t page = hk_os_page_size();
  size_t off = align > page ? align : page; /* header page, then the user block */
  if (size > SIZE_MAX - off - HK_SS_SIZE) return NULL;
  size_t map = hk_bits_align_up(off + size, page);
  size_t map_align = align > HK_SS_SIZE ? align : HK_SS_SIZE;
  hk_huge_t *h = (hk_huge_t *)hk_region_map(map, map_align, HK_REGION_HUGE);
  if (h == NULL) return NULL;
  h->magic = HUGE_MAGIC;
  h->map_size = map;
  h->user_off = off;
  hk_lock(&g_large_lock);
  g_st.live++;
  g_st.live_bytes += map;
  hk_unlock(&g_large_lock);
  *zeroed = true;
  return (uint8_t *)h + off;
}

static hk_huge_t *huge_of(const void *p, uintptr_t entry) {
  hk_huge_t *h = (hk_huge_t *)(entry & ~HK_REGION_KIND_MASK);
  if (h->magic != HUGE_MAGIC || (const uint8_t *)h + h->user_off != (const uint8_t *)p) return NULL;
  return h;
}

/* ---- API ------------------------------------------------------------------- */

void *hk_large_alloc(size_t size, size_t align, bool *zeroed) {
  if (align < HK_LARGE_PAGE) align = HK_LARGE_PAGE;
  if (size > SIZE_MAX - align) return NULL;
  size_t pages = hk_bits_align_up(size, HK_LARGE_PAGE) / HK_LARGE_PAGE;
  if (pages * HK_LARGE_PAGE > HK_LARGE_SPAN_MAX || align > HK_LARGE_SPAN_MAX / 4) {
    return huge_alloc(size, align, zeroed);
  }
  hk_lock(&g_large_lock);
  void *p = seg_alloc_locked(pages, align, zeroed);
  maybe_purge_locked();
  hk_unlock(&g_large_lock);
  return p;
}

static HAK_COLD HAK_NORETURN void bad_large(const void *p, const char *what) {
  hk_fatal("free(): %s %p (large allocation)", what, p);
}

/* Span of a live large block at p, or -1. Lock held. */
static int seg_user_page(const hk_large_seg_t *s, const void *p) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)s;
  if (s->magic != LS_MAGIC || off % HK_LARGE_PAGE != 0) return -1;
  unsigned idx = (unsigned)(off / HK_LARGE_PAGE);
  if (idx == 0 || s->user_start[idx] == 0) return -1;
  return (int)idx;
}

void hk_large_free(void *p, uintptr_t entry) {
  if ((entry & HK_REGION_KIND_MASK) == HK_REGION_HUGE) {
    hk_huge_t *h = huge_of(p, entry);
    if (h == NULL) bad_large(p, "invalid pointer (not the start of an allocation)");
    size_t map = h->map_size;
    h->magic = 0;
    hk_region_unmap(h, map);
    hk_lock(&g_large_lock);
    g_st.live--;
    g_st.live_bytes -= map;
    hk_unlock(&g_large_lock);
    return;
  }
  hk_large_seg_t *s = (hk_large_seg_t *)(entry & ~HK_REGION_KIND_MASK);
  hk_lock(&g_large_lock);
  int idx = seg_user_page(s, p);
  if (idx < 0) {
    /* A page-aligned pointer to a free page of a live segment was a block
     * that is free now (the span may have been split since, so this is a
     * double free or a stale pointer); anything else is not a block start. */
    uintptr_t off = (uintptr_t)p - (uintptr_t)s;
    unsigned page = (unsigned)(off / HK_LARGE_PAGE);
    bool free_page = s->magic == LS_MAGIC && off % HK_LARGE_PAGE == 0 && page != 0 &&
                     !((s->used[page / 64] >> (page % 64)) & 1u);
    hk_unlock(&g_large_lock);
    bad_large(p, free_page ? "double free of" : "invalid pointer (not the start of an allocation)");
  }
  unsigned first = s->user_start[idx] - 1u, n = s->span_len[first];
  s->user_start[idx] = 0;
  s->span_len[first] = 0;
  bits_set(s->used, first, n, false);
  bits_set(s->dirty, first, n, true);
  s->dirty_pages += n;
  g_cached_bytes += (size_t)n * HK_LARGE_PAGE;
  dirty_add(s, now_ms());
  s->free_pages += n;
  s->hint = LS_PAGES - 1;
  nonfull_add(s);
  g_st.live--;
  g_st.live_bytes -= (size_t)n * HK_LARGE_PAGE;
  if (s->free_pages == LS_PAGES - 1) seg_retire(s);
  maybe_purge_locked();
  hk_unlock(&g_large_lock);
}

size_t hk_large_usable(const void *p, uintptr_t entry) {
  if ((entry & HK_REGION_KIND_MASK) == HK_REGION_HUGE) {
    hk_huge_t *h = huge_of(p, entry);
    return h ? h->map_size - h->user_off : 0;
  }
  hk_large_seg_t *s = (hk_large_seg_t *)(entry & ~HK_REGION_KIND_MASK);
  hk_lock(&g_large_lock);
  int idx = seg_user_page(s, p);
  size_t n = 0;
  if (idx >= 0) {
    unsigned first = s->user_start[idx] - 1u;
    n = ((size_t)first + s->span_len[first] - (size_t)idx) * HK_LARGE_PAGE;
  }
  hk_unlock(&g_large_lock);
  return n;
}

bool hk_large_owns(const void *p, uintptr_t entry) {
  if ((entry & HK_REGION_KIND_MASK) == HK_REGION_HUGE) return huge_of(p, entry) != NULL;
  hk_large_seg_t *s = (hk_large_seg_t *)(entry & ~HK_REGION_KIND_MASK);
  hk_lock(&g_large_lock);
  bool ok = seg_user_page(s, p) >= 0;
  hk_unlock(&g_large_lock);
  return ok;
}

size_t hk_large_trim(void) {
  hk_lock(&g_large_lock);
  /* Dirty pages are free pages: a segment holding some is on g_nonfull or
   * is the spare. */
  uint64_t now = now_ms();
  for (hk_large_seg_t *s = g_nonfull; s != NULL; s = s->next) seg_unmark(s, now);
  if (g_spare != NULL) seg_unmark(g_spare, now);
  size_t before = g_cached_bytes;
  purge_all_locked();
  size_t freed = before - g_cached_bytes;
  if (g_spare != NULL) {
    /* What a refused purge left dirty goes with the mapping (as in seg_retire). */
    g_cached_bytes -= (size_t)g_spare->dirty_pages * HK_LARGE_PAGE;
    dirty_remove(g_spare);
    seg_unmap(g_spare);
    g_spare = NULL;
    freed += HK_SS_SIZE;
  }
  hk_unlock(&g_large_lock);
  return freed;
}

void hk_large_stats_get(hk_large_stats_t *out) {
  hk_lock(&g_large_lock);
  *out = g_st;
  out->cached_bytes = g_cached_bytes;
  hk_unlock(&g_large_lock);
}

void hk_large_fork_prepare(void) { hk_lock(&g_large_lock); }
void hk_large_fork_parent(void) { hk_unlock(&g_large_lock); }
void hk_large_fork_child(void) { hk_lock_reset(&g_large_lock); }
