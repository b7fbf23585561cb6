/* hakmem/large/large.c — large and huge blocks: page spans carved from large
 * regions, a size-binned map of free spans, the purge cache, and blocks
 * above HK_LARGE_SHARED_MAX in mappings of their own (see large.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>

#include "hakmem/core/bits.h"
#include "hakmem/core/lock.h"
#include "hakmem/core/memops.h"
#include "hakmem/core/os.h"
#include "hakmem/core/report.h"
#include "hakmem/core/size_class.h"
#include "hakmem/large/large.h"

#define PAGE ((size_t)HK_LARGE_PAGE)
#define REGION_MAGIC 0x48414b4d4c524547ull /* "HAKMLREG" */
#define HUGE_MAGIC 0x48414b4d48554745ull   /* "HAKMHUGE" */
#define SHARED_MAX_PAGES ((uint32_t)(HK_LARGE_SHARED_MAX / HK_LARGE_PAGE))
#define REGION_MIN ((size_t)4 << 20)  /* usable bytes of the first regions */
#define REGION_MAX ((size_t)64 << 20) /* usable bytes a region grows to */

/* Page tags (tag[i]), set only at the first and last page of a span (0
 * elsewhere): bit 0 a live span, bit 1 a free span, bit 2 the last page of a
 * span of more than one page; the span's length in pages above. */
#define T_USED 1u
#define T_FREE 2u
#define T_LAST 4u
#define T_SHIFT 3u
#define NBINS 128u

/* Bin list links of a free span, at the span's first page. */
typedef struct hk_llink {
  struct hk_llink *next, *prev;
} hk_llink_t;

/* A large region: 2 MiB aligned, one registry region of kind LARGE. The
 * header (this struct, the per-page links and tags, the dirty bitmap) takes
 * its first `hdr` pages, all inside the first 2 MiB, so a link's region is
 * its address rounded down to 2 MiB. Spans are carved from pages
 * hdr..pages-1. Tags are 4 bytes a page so that the header pages a program
 * touches stay few (links are touched only for free spans). */
typedef struct hk_lregion {
  uint64_t magic;
  size_t size; /* bytes mapped */
  uint32_t pages, hdr;
  uint32_t free_pages;
  uint32_t dirty_pages;              /* free pages that may hold data */
  struct hk_lregion *next, *prev;    /* every region */
  struct hk_lregion *dnext, *dprev;  /* g_dirty FIFO: regions with dirty pages */
  uint64_t dirty_since;              /* ms: when it joined g_dirty */
  uint8_t on_dirty;
  uint8_t unpurgeable; /* the OS refused a purge with EINVAL (locked pages, mlockall):
                        * stop trying until the next explicit trim */
  uint8_t stale;       /* purged pages here may still hold data (see purge_zeroes) */
  uint32_t *tag;       /* per page, after link[] */
  uint64_t *dirty;     /* bitmap of dirty pages, after tag[] */
  hk_llink_t link[];   /* per page */
} hk_lregion_t;

/* A block above HK_LARGE_SHARED_MAX (or aligned beyond 2 MiB): a registry
 * region of kind HUGE of its own, this header in its first page. */
typedef struct hk_huge {
  uint64_t magic;
  size_t map_size;
  size_t user_off;
} hk_huge_t;

static hk_lock_t g_large_lock;
static hk_lregion_t *g_regions;                 /* every large region */
static hk_lregion_t *g_dirty, *g_dirty_tail;    /* oldest dirty first */
static hk_lregion_t *g_spare;                   /* one empty region kept mapped */
static hk_llink_t *g_bin[NBINS];                /* free spans by length class, LIFO */
static uint64_t g_bin_nonempty[NBINS / 64];
static size_t g_region_bytes;                   /* mapped by large regions */
static hk_large_config_t g_cfg = {.cache_bytes = (size_t)16 << 20, .purge_delay_ms = 1000};
static size_t g_cached_bytes;                   /* dirty free pages, in bytes */
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

/* ---- bitmaps ------------------------------------------------------------- */

static bool bit_get(const uint64_t *m, size_t i) { return (m[i / 64] >> (i % 64)) & 1u; }

/* Mask of bits [from, to) within word w (from/to absolute bit indices). */
static uint64_t word_mask(size_t w, size_t from, size_t to) {
  size_t lo = from > w * 64 ? from - w * 64 : 0, hi = to < w * 64 + 64 ? to - w * 64 : 64;
  uint64_t m = hi == 64 ? ~(uint64_t)0 : (((uint64_t)1 << hi) - 1);
  return m & ~(((uint64_t)1 << lo) - 1);
}

static void bits_set(uint64_t *m, size_t from, size_t n, bool on) {
  for (size_t w = from / 64; w * 64 < from + n; w++) {
    uint64_t k = word_mask(w, from, from + n);
    if (on) m[w] |= k;
    else m[w] &= ~k;
  }
}

static size_t bits_count(const uint64_t *m, size_t from, size_t n) {
  size_t c = 0;
  for (size_t w = from / 64; w * 64 < from + n; w++) c += hk_bits_popcount(m[w] & word_mask(w, from, from + n));
  return c;
}

/* ---- regions and tags ------------------------------------------------------ */

static hk_lregion_t *region_of_link(const hk_llink_t *m) {
  return (hk_lregion_t *)((uintptr_t)m & ~(uintptr_t)HK_SS_MASK);
}

static uint32_t link_index(const hk_lregion_t *r, const hk_llink_t *m) { return (uint32_t)(m - r->link); }

static uint32_t tag_len(uint32_t t) { return t >> T_SHIFT; }

static void *page_addr(const hk_lregion_t *r, uint32_t i) { return (uint8_t *)r + (size_t)i * PAGE; }

/* Header pages of a region of `pages` pages. */
static uint32_t header_pages(size_t pages) {
  size_t bytes = sizeof(hk_lregion_t) + pages * (sizeof(hk_llink_t) + 4) + (pages + 63) / 64 * 8 + 8;
  return (uint32_t)(hk_bits_align_up(bytes, PAGE) / PAGE);
}

/* Floor class of a span length: bins 0..15 hold 1..16 pages exactly, then
 * four classes per power of two. Every span of a bin above bin_of(n) has
 * more than n pages. */
static unsigned bin_of(size_t n) {
  if (n <= 16) return (unsigned)n - 1u;
  unsigned lg = hk_bits_log2_floor(n);
  unsigned b = 16u + (lg - 4u) * 4u + (unsigned)((n >> (lg - 2u)) & 3u);
  return b < NBINS ? b : NBINS - 1u;
}

static void set_used(hk_lregion_t *r, uint32_t first, uint32_t n) {
  if (n > 1) r->tag[first + n - 1] = (n << T_SHIFT) | T_USED | T_LAST;
  r->tag[first] = (n << T_SHIFT) | T_USED;
}

static void bin_insert(hk_lregion_t *r, uint32_t first, uint32_t n) {
  hk_llink_t *m = &r->link[first];
  if (n > 1) r->tag[first + n - 1] = (n << T_SHIFT) | T_FREE | T_LAST;
  r->tag[first] = (n << T_SHIFT) | T_FREE;
  unsigned b = bin_of(n);
  m->prev = NULL;
  m->next = g_bin[b];
  if (m->next) m->next->prev = m;
  g_bin[b] = m;
  g_bin_nonempty[b / 64] |= (uint64_t)1 << (b % 64);
}

static void bin_remove(hk_lregion_t *r, uint32_t first) {
  hk_llink_t *m = &r->link[first];
  unsigned b = bin_of(tag_len(r->tag[first]));
  if (m->prev) m->prev->next = m->next;
  else g_bin[b] = m->next;
  if (m->next) m->next->prev = m->prev;
  if (g_bin[b] == NULL) g_bin_nonempty[b / 64] &= ~((uint64_t)1 << (b % 64));
  m->next = m->prev = NULL;
}

/* First page index >= first aligned to ap pages (region bases are 2 MiB
 * aligned, so this aligns the address for ap <= 512). */
static uint32_t align_index(uint32_t first, uint32_t ap) {
  return (uint32_t)hk_bits_align_up(first, ap);
}

static bool span_fits(const hk_lregion_t *r, const hk_llink_t *m, uint32_t n, uint32_t ap) {
  uint32_t first = link_index(r, m), len = tag_len(r->tag[first]);
  return align_index(first, ap) + n <= first + len;
}

/* A free span that holds n pages at an ap-page boundary, or NULL: a few
 * entries of the floor bin, then the smallest non-empty bins above it. */
static hk_llink_t *find_span(uint32_t n, uint32_t ap) {
  unsigned b = bin_of(n);
  for (;;) {
    int k = 0;
    for (hk_llink_t *m = g_bin[b]; m != NULL && k < 8; m = m->next, k++) {
      if (span_fits(region_of_link(m), m, n, ap)) return m;
    }
    /* next non-empty bin above b */
    unsigned nb = b + 1;
    for (;;) {
      if (nb >= NBINS) return NULL;
      uint64_t w = g_bin_nonempty[nb / 64] & (~(uint64_t)0 << (nb % 64));
      if (w != 0) {
        nb = (nb / 64) * 64 + hk_bits_ctz(w);
        break;
      }
      nb = (nb / 64 + 1) * 64;
    }
    b = nb;
  }
}

/* ---- dirty FIFO ---------------------------------------------------------- */

static void dirty_add(hk_lregion_t *r, uint64_t now) {
  if (r->on_dirty) return;
  r->on_dirty = 1;
  r->dirty_since = now;
  r->dnext = NULL;
  r->dprev = g_dirty_tail;
  if (g_dirty_tail) g_dirty_tail->dnext = r;
  else g_dirty = r;
  g_dirty_tail = r;
}

static void dirty_remove(hk_lregion_t *r) {
  if (!r->on_dirty) return;
  r->on_dirty = 0;
  if (r->dprev) r->dprev->dnext = r->dnext;
  else g_dirty = r->dnext;
  if (r->dnext) r->dnext->dprev = r->dprev;
  else g_dirty_tail = r->dprev;
  r->dnext = r->dprev = NULL;
}

/* ---- purging --------------------------------------------------------------- */

/* Whether a successful purge leaves zero-filled pages (so that calloc may
 * skip zeroing them). Linux does; some emulators (qemu-user 7.2) accept
 * madvise and ignore it. Probed once, on the first purge: one page mapped,
 * written, purged, read back. Lock held. */
static int g_purge_zeroes = -1;

static bool purge_zeroes(void) {
  if (g_purge_zeroes < 0) {
    void *m;
    size_t ps = hk_os_page_size();
    g_purge_zeroes = 0;
    if (hk_os_reserve_aligned(ps, ps, true, &m) == 0) {
      *(volatile uint8_t *)m = 1;
      if (hk_os_purge(m, ps) == 0 && *(volatile uint8_t *)m == 0) g_purge_zeroes = 1;
      hk_os_release(m, ps);
    }
  }
  return g_purge_zeroes == 1;
}

/* Returns the dirty pages of r to the OS, one madvise per run. Only the part
 * of a run that covers whole OS pages is purged (the OS page may be larger
 * than HK_LARGE_PAGE); pages stay dirty, so calloc zeroes them, unless the
 * purge succeeded. EINVAL (locked pages) marks r unpurgeable; any other
 * refusal (EAGAIN, ENOMEM) is taken as passing: r goes to the end of the
 * dirty FIFO to be retried later, and false tells the caller to stop this
 * round of purging. */
static bool region_purge(hk_lregion_t *r) {
  const uintptr_t base = (uintptr_t)r;
  const size_t os_page = hk_os_page_size();
  for (uint32_t i = r->hdr; i < r->pages && r->dirty_pages > 0 && !r->unpurgeable;) {
    if (r->dirty[i / 64] >> (i % 64) == 0) { /* rest of this word is clean */
      i = (i / 64 + 1) * 64;
      continue;
    }
    if (!bit_get(r->dirty, i)) {
      i++;
      continue;
    }
    uint32_t j = i;
    while (j < r->pages && bit_get(r->dirty, j)) j++;
    uintptr_t from = hk_bits_align_up(base + (size_t)i * PAGE, os_page);
    uintptr_t to = hk_bits_align_down(base + (size_t)j * PAGE, os_page);
    if (from < to) {
      int rc = hk_os_purge((void *)from, to - from);
      if (rc == 0 && !purge_zeroes()) r->stale = 1;
      if (rc == 0) {
        size_t a = (from - base) / PAGE, n = (to - from) / PAGE;
        bits_set(r->dirty, a, n, false);
        r->dirty_pages -= (uint32_t)n;
        g_cached_bytes -= n * PAGE;
      } else if (rc == EINVAL) {
        r->unpurgeable = 1;
      } else {
        dirty_remove(r);
        dirty_add(r, now_ms());
        return false;
      }
    }
    i = j;
  }
  dirty_remove(r);
  return true;
}

/* Purges the regions dirty the longest until the cache is within its byte
 * bound, then those idle past the purge delay (now: the time in ms, or 0 to
 * read the clock when needed). */
static void maybe_purge_locked(uint64_t now) {
  if (g_dirty == NULL) return;
  while (g_dirty != NULL && g_cached_bytes > g_cfg.cache_bytes) {
    if (!region_purge(g_dirty)) return;
  }
  if (now == 0) now = now_ms();
  while (g_dirty != NULL && now - g_dirty->dirty_since >= g_cfg.purge_delay_ms) {
    if (!region_purge(g_dirty)) return;
  }
}

/* ---- regions ----------------------------------------------------------------- */

/* Maps a region with at least `need` usable pages: REGION_MIN..REGION_MAX
 * usable bytes growing with what is mapped already (so the number of
 * mappings grows with the logarithm of a small footprint and linearly, by
 * 64 MiB, beyond it), smaller when the OS refuses (an address-space limit),
 * down to exactly `need` pages. The usable part is a multiple of 2 MiB when
 * possible and the header comes on top, so that blocks of a power-of-two
 * size fill a region. */
static hk_lregion_t *region_new(uint32_t need) {
  size_t want = hk_bits_align_up(g_region_bytes / 2, HK_SS_SIZE);
  if (want < REGION_MIN) want = REGION_MIN;
  if (want > REGION_MAX) want = REGION_MAX;
  size_t usable = (size_t)need * PAGE > want ? (size_t)need * PAGE : want;
  for (;;) {
    size_t pages = usable / PAGE;
    uint32_t hdr = 1;
    while (header_pages(pages + hdr) > hdr) hdr = header_pages(pages + hdr);
    size_t size = (pages + hdr) * PAGE;
    hk_lregion_t *r = (hk_lregion_t *)hk_region_map(size, HK_SS_SIZE, HK_REGION_LARGE);
    if (r != NULL) {
      r->magic = REGION_MAGIC;
      r->size = size;
      r->pages = (uint32_t)(pages + hdr);
      r->hdr = hdr;
      r->free_pages = (uint32_t)pages;
      r->tag = (uint32_t *)&r->link[r->pages];
      r->dirty = (uint64_t *)hk_bits_align_up((uintptr_t)&r->tag[r->pages], 8);
      r->tag[hdr - 1] = T_USED | T_LAST; /* the header: never merged */
      r->next = g_regions;
      if (g_regions) g_regions->prev = r;
      g_regions = r;
      g_region_bytes += size;
      g_st.segments++;
      bin_insert(r, hdr, (uint32_t)pages);
      return r;
    }
    if (usable == (size_t)need * PAGE) return NULL;
    usable /= 2;
    if (usable < (size_t)need * PAGE) usable = (size_t)need * PAGE;
  }
}

/* Unmaps an empty region (its one free span is in a bin). */
static void region_unmap(hk_lregion_t *r) {
  bin_remove(r, r->hdr);
  g_cached_bytes -= (size_t)r->dirty_pages * PAGE;
  dirty_remove(r);
  if (r->prev) r->prev->next = r->next;
  else g_regions = r->next;
  if (r->next) r->next->prev = r->prev;
  g_region_bytes -= r->size;
  g_st.segments--;
  r->magic = 0;
  hk_region_unmap(r, r->size);
}

/* A region whose last span was freed: kept as the spare (its free pages are
 * cached and purged like any others), or unmapped. */
static void region_empty(hk_lregion_t *r) {
  if (g_spare == NULL || g_spare == r) {
    g_spare = r;
    return;
  }
  region_unmap(r);
}

/* Takes n pages at page index `at` out of the free span m. */
static void carve(hk_lregion_t *r, uint32_t first, uint32_t at, uint32_t n, bool *zeroed) {
  uint32_t len = tag_len(r->tag[first]);
  bin_remove(r, first);
  r->tag[first] = 0;
  r->tag[first + len - 1] = 0;
  if (at > first) bin_insert(r, first, at - first);
  if (at + n < first + len) bin_insert(r, at + n, first + len - at - n);
  set_used(r, at, n);
  size_t dirty = bits_count(r->dirty, at, n);
  if (dirty) {
    bits_set(r->dirty, at, n, false);
    r->dirty_pages -= (uint32_t)dirty;
    g_cached_bytes -= dirty * PAGE;
    if (r->dirty_pages == 0) dirty_remove(r);
  }
  if (zeroed) *zeroed = dirty == 0 && !r->stale;
  r->free_pages -= n;
  if (r == g_spare) g_spare = NULL;
}

/* Frees pages [first, first+n) of r (tags already cleared by the caller or
 * never set): marks them dirty and merges them with free neighbours. */
static void release_pages(hk_lregion_t *r, uint32_t first, uint32_t n, uint64_t now) {
  bits_set(r->dirty, first, n, true);
  r->dirty_pages += n;
  g_cached_bytes += (size_t)n * PAGE;
  dirty_add(r, now);
  r->free_pages += n;
  uint32_t a = first, len = n;
  if (a > r->hdr && (r->tag[a - 1] & T_FREE)) {
    uint32_t t = r->tag[a - 1];
    uint32_t lf = (t & T_LAST) ? a - tag_len(t) : a - 1;
    uint32_t ll = tag_len(t);
    bin_remove(r, lf);
    r->tag[lf] = 0;
    r->tag[a - 1] = 0;
    a = lf;
    len += ll;
  }
  uint32_t b = first + n;
  if (b < r->pages && (r->tag[b] & T_FREE)) {
    uint32_t rl = tag_len(r->tag[b]);
    bin_remove(r, b);
    r->tag[b] = 0;
    r->tag[b + rl - 1] = 0;
    len += rl;
  }
  bin_insert(r, a, len);
  if (r->free_pages == r->pages - r->hdr) region_empty(r);
}

static void *span_alloc_locked(uint32_t n, uint32_t ap, bool *zeroed) {
  hk_llink_t *m = find_span(n, ap);
  if (m == NULL) {
    hk_lregion_t *r = region_new(n + ap - 1);
    if (r == NULL) return NULL;
    m = &r->link[r->hdr];
  }
  hk_lregion_t *r = region_of_link(m);
  uint32_t first = link_index(r, m);
  carve(r, first, align_index(first, ap), n, zeroed);
  uint32_t at = align_index(first, ap);
  g_st.live++;
  g_st.live_bytes += (size_t)n * PAGE;
  return page_addr(r, at);
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
  if (align < PAGE) align = PAGE;
  if (size > SIZE_MAX - align) return NULL;
  size_t pages = hk_bits_align_up(size, PAGE) / PAGE;
  if (pages > SHARED_MAX_PAGES || align > HK_SS_SIZE) return huge_alloc(size, align, zeroed);
  hk_lock(&g_large_lock);
  void *p = span_alloc_locked((uint32_t)pages, (uint32_t)(align / PAGE), zeroed);
  maybe_purge_locked(0);
  hk_unlock(&g_large_lock);
  return p;
}

static HAK_COLD HAK_NORETURN void bad_large(const void *p, const char *what) {
  hk_fatal("free(): %s %p (large allocation)", what, p);
}

/* A region's last 2 MiB chunk may extend past its end, where the OS can map
 * anything: a pointer there is not HAKMEM's. */
static bool in_region(const void *p, uintptr_t base, size_t size) {
  return (uintptr_t)p - base < size;
}

static HAK_COLD HAK_NORETURN void foreign(const void *p) {
  hk_fatal("free(): invalid pointer (not allocated by HAKMEM) %p", p);
}

/* Page index of the live span starting at p in r, or -1. Lock held. */
static long span_index(const hk_lregion_t *r, const void *p) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)r;
  if (r->magic != REGION_MAGIC || off % PAGE != 0 || off / PAGE >= r->pages) return -1;
  uint32_t i = (uint32_t)(off / PAGE);
  if ((r->tag[i] & (T_USED | T_LAST)) != T_USED || i < r->hdr) return -1;
  return (long)i;
}

static void span_free_locked(hk_lregion_t *r, uint32_t idx) {
  uint32_t n = tag_len(r->tag[idx]);
  r->tag[idx] = 0;
  r->tag[idx + n - 1] = 0;
  g_st.live--;
  g_st.live_bytes -= (size_t)n * PAGE;
  uint64_t now = now_ms();
  release_pages(r, idx, n, now);
  maybe_purge_locked(now);
}

void hk_large_free(void *p, uintptr_t entry) {
  if ((entry & HK_REGION_KIND_MASK) == HK_REGION_HUGE) {
    hk_huge_t *h = huge_of(p, entry);
    if (h == NULL) {
      const hk_huge_t *hh = (const hk_huge_t *)(entry & ~HK_REGION_KIND_MASK);
      if (hh->magic == HUGE_MAGIC && !in_region(p, (uintptr_t)hh, hh->map_size)) foreign(p);
      bad_large(p, "invalid pointer (not the start of an allocation)");
    }
    size_t map = h->map_size;
    h->magic = 0;
    hk_region_unmap(h, map);
    hk_lock(&g_large_lock);
    g_st.live--;
    g_st.live_bytes -= map;
    hk_unlock(&g_large_lock);
    return;
  }
  hk_lregion_t *r = (hk_lregion_t *)(entry & ~HK_REGION_KIND_MASK);
  hk_lock(&g_large_lock);
  long idx = span_index(r, p);
  if (idx < 0) {
    /* The start of a free span was a block that is free now (a double free
     * or a stale pointer); anything else is not a block start. */
    uintptr_t off = (uintptr_t)p - (uintptr_t)r;
    bool free_start = r->magic == REGION_MAGIC && off % PAGE == 0 && off / PAGE < r->pages &&
                      off / PAGE >= r->hdr && (r->tag[off / PAGE] & (T_FREE | T_LAST)) == T_FREE;
    bool outside = r->magic == REGION_MAGIC && !in_region(p, (uintptr_t)r, r->size);
    hk_unlock(&g_large_lock);
    if (outside) foreign(p);
    bad_large(p, free_start ? "double free of" : "invalid pointer (not the start of an allocation)");
  }
  span_free_locked(r, (uint32_t)idx);
  hk_unlock(&g_large_lock);
}

size_t hk_large_usable(const void *p, uintptr_t entry) {
  if ((entry & HK_REGION_KIND_MASK) == HK_REGION_HUGE) {
    hk_huge_t *h = huge_of(p, entry);
    return h ? h->map_size - h->user_off : 0;
  }
  hk_lregion_t *r = (hk_lregion_t *)(entry & ~HK_REGION_KIND_MASK);
  hk_lock(&g_large_lock);
  long idx = span_index(r, p);
  size_t n = idx >= 0 ? (size_t)tag_len(r->tag[idx]) * PAGE : 0;
  hk_unlock(&g_large_lock);
  return n;
}

bool hk_large_owns(const void *p, uintptr_t entry) {
  if ((entry & HK_REGION_KIND_MASK) == HK_REGION_HUGE) return huge_of(p, entry) != NULL;
  hk_lregion_t *r = (hk_lregion_t *)(entry & ~HK_REGION_KIND_MASK);
  hk_lock(&g_large_lock);
  bool ok = span_index(r, p) >= 0;
  hk_unlock(&g_large_lock);
  return ok;
}

/* Bytes to allocate when a block of `usable` bytes must move to hold `size`:
 * growth by less than half is rounded up to half, so a loop of small growth
 * steps moves O(log) times and copies O(final size) bytes in all. */
static size_t grow_target(size_t usable, size_t size) {
  size_t step = usable / 2;
  return size - usable < step && usable + step > size ? usable + step : size;
}

/* Moves the live block p (usable bytes, a multiple of the page) to a
 * mapping of its own of `target` bytes (at least HK_LARGE_SHARED_MAX + a
 * page): its pages are moved by the OS (hk_os_move), or copied. Lock held on entry
 * for a span (released here), not for a huge block. */
static void *move_huge(void *p, uintptr_t entry, size_t usable, size_t target) {
  if ((entry & HK_REGION_KIND_MASK) != HK_REGION_HUGE) hk_unlock(&g_large_lock);
  if (target <= HK_LARGE_SHARED_MAX) target = HK_LARGE_SHARED_MAX + PAGE;
  bool zeroed;
  void *q = hk_large_alloc(target, HK_LARGE_PAGE, &zeroed);
  if (q == NULL) return NULL;
  /* The pages move (mremap) where the OS can: no copy, no refaults. */
  if (hk_os_move(p, usable, q) != 0) hk_memcpy(q, p, usable);
  hk_large_free(p, entry);
  return q;
}

void *hk_large_realloc(void *p, uintptr_t entry, size_t size) {
  if ((entry & HK_REGION_KIND_MASK) == HK_REGION_HUGE) {
    hk_huge_t *h = huge_of(p, entry);
    if (h == NULL) return NULL;
    size_t usable = h->map_size - h->user_off;
    if (size <= usable && size >= usable / 2) return p;
    if (size <= usable || size <= HK_LARGE_SHARED_MAX) return NULL;
    return move_huge(p, entry, usable, grow_target(usable, size));
  }
  hk_lregion_t *r = (hk_lregion_t *)(entry & ~HK_REGION_KIND_MASK);
  hk_lock(&g_large_lock);
  long sidx = span_index(r, p);
  if (sidx < 0) {
    hk_unlock(&g_large_lock);
    return NULL;
  }
  uint32_t idx = (uint32_t)sidx, n = tag_len(r->tag[idx]);
  size_t usable = (size_t)n * PAGE;
  if (size <= HAK_MID_MAX && size <= usable) { /* shrinks to a small block */
    hk_unlock(&g_large_lock);
    return NULL;
  }
  const size_t target = grow_target(usable, size);
  if (size > HK_LARGE_SHARED_MAX) return move_huge(p, entry, usable, target);
  uint32_t want = (uint32_t)(hk_bits_align_up(size, PAGE) / PAGE);
  if (want < n) { /* shrink in place: the tail goes back to the cache */
    r->tag[idx + n - 1] = 0;
    set_used(r, idx, want);
    g_st.live_bytes -= (size_t)(n - want) * PAGE;
    uint64_t now = now_ms();
    release_pages(r, idx + want, n - want, now);
    maybe_purge_locked(now);
    hk_unlock(&g_large_lock);
    return p;
  }
  if (want == n) {
    hk_unlock(&g_large_lock);
    return p;
  }
  /* Grow in place into the free span that follows, if it is long enough. */
  uint32_t b = idx + n;
  if (b < r->pages && (r->tag[b] & T_FREE) && tag_len(r->tag[b]) >= want - n) {
    uint32_t more = (uint32_t)(grow_target(usable, size) / PAGE) - n;
    if (more > tag_len(r->tag[b])) more = tag_len(r->tag[b]);
    if (more < want - n) more = want - n;
    r->tag[idx] = 0;
    r->tag[idx + n - 1] = 0;
    carve(r, b, b, more, NULL);
    r->tag[b] = 0; /* inside the grown span now */
    set_used(r, idx, n + more);
    g_st.live_bytes += (size_t)more * PAGE;
    hk_unlock(&g_large_lock);
    return p;
  }
  /* Move, with room for further growth: to a mapping of its own when that
   * room passes HK_LARGE_SHARED_MAX. */
  if (target > HK_LARGE_SHARED_MAX) return move_huge(p, entry, usable, target);
  uint32_t tp = (uint32_t)(hk_bits_align_up(target, PAGE) / PAGE);
  bool zeroed;
  void *q = span_alloc_locked(tp, 1, &zeroed);
  if (q == NULL) {
    hk_unlock(&g_large_lock);
    return NULL;
  }
  /* Copying under the lock keeps p's span from being reused meanwhile; the
   * block is at most HK_LARGE_SHARED_MAX. */
  hk_memcpy(q, p, usable);
  span_free_locked(r, idx);
  hk_unlock(&g_large_lock);
  return q;
}

size_t hk_large_trim(void) {
  hk_lock(&g_large_lock);
  /* An explicit trim tries again where the OS refused for good: the pages
   * may have been unlocked since. */
  uint64_t now = now_ms();
  for (hk_lregion_t *r = g_regions; r != NULL; r = r->next) {
    if (!r->unpurgeable) continue;
    r->unpurgeable = 0;
    if (r->dirty_pages > 0) dirty_add(r, now);
  }
  size_t before = g_cached_bytes;
  while (g_dirty != NULL) {
    if (!region_purge(g_dirty)) break;
  }
  size_t freed = before - g_cached_bytes;
  if (g_spare != NULL) {
    freed += g_spare->size;
    region_unmap(g_spare);
    g_spare = NULL;
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
