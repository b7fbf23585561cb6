/* hakmem/segment/segment.c — SuperSlabs, the shared pool, the registry and
 * owner-side slab sets (see segment.h for the contract). */
#define _DEFAULT_SOURCE /* mincore */
#include "hakmem/segment/segment.h"

#include <errno.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>

#include "hakmem/core/bits.h"
#include "hakmem/core/lock.h"
#include "hakmem/core/os.h"
#include "hakmem/core/report.h"
#include "hakmem/pagemap/pagemap.h"

enum { HK_SLAB_HEADER = 3 }; /* state of slabs[0]: never allocatable */
#define HK_LEAF_ENTRIES ((size_t)1 << HK_REGISTRY_LEAF_BITS)
#define HK_FULL_SCAN_MAX 8u

/* ---- registry ----------------------------------------------------------- */

hk_atomic_word hk_region_root[(size_t)1 << HK_REGISTRY_ROOT_BITS];
static hk_lock_t g_registry_lock;

static hk_atomic_word *registry_leaf(uintptr_t chunk, bool create) {
  hk_atomic_word *slot = &hk_region_root[chunk >> HK_REGISTRY_LEAF_BITS];
  hk_atomic_word *leaf = (hk_atomic_word *)hk_atomic_load_acquire(slot);
  if (leaf != NULL || !create) return leaf;
  hk_lock(&g_registry_lock);
  leaf = (hk_atomic_word *)hk_atomic_load_relaxed(slot);
  if (leaf == NULL) {
    void *mem;
    size_t bytes = hk_bits_align_up(HK_LEAF_ENTRIES * sizeof(hk_atomic_word), hk_os_page_size());
    if (hk_os_reserve_aligned(bytes, hk_os_page_size(), true, &mem) == 0) {
      leaf = (hk_atomic_word *)mem;
      hk_atomic_store_release(slot, (uintptr_t)leaf);
    }
  }
  hk_unlock(&g_registry_lock);
  return leaf;
}

static void region_unregister(void *base, size_t size);

static int region_register(void *base, size_t size, void *header, unsigned kind) {
  uintptr_t first = (uintptr_t)base >> HK_SS_SHIFT;
  uintptr_t last = ((uintptr_t)base + size - 1) >> HK_SS_SHIFT;
  if (last >> (HK_REGISTRY_ROOT_BITS + HK_REGISTRY_LEAF_BITS)) return ENOMEM;
  for (uintptr_t c = first; c <= last; c++) {
    if (registry_leaf(c, true) == NULL) {
      region_unregister(base, (c - first) << HK_SS_SHIFT);
      return ENOMEM;
    }
  }
  for (uintptr_t c = first; c <= last; c++) {
    hk_atomic_word *leaf = registry_leaf(c, false);
    hk_atomic_store_release(&leaf[c & (HK_LEAF_ENTRIES - 1)], (uintptr_t)header | kind);
  }
  return 0;
}

/* Sets the entries of [base, base+size) to `entry` (0, or a tombstone). */
static void region_set(void *base, size_t size, uintptr_t entry) {
  if (size == 0) return;
  uintptr_t first = (uintptr_t)base >> HK_SS_SHIFT;
  uintptr_t last = ((uintptr_t)base + size - 1) >> HK_SS_SHIFT;
  for (uintptr_t c = first; c <= last; c++) {
    hk_atomic_word *leaf = registry_leaf(c, false);
    if (leaf) hk_atomic_store_release(&leaf[c & (HK_LEAF_ENTRIES - 1)], entry);
  }
}

static void region_unregister(void *base, size_t size) { region_set(base, size, 0); }

void *hk_region_map(size_t size, size_t align, unsigned kind) {
  void *mem;
  if (hk_os_reserve_aligned(size, align, true, &mem) != 0) return NULL;
  if (region_register(mem, size, mem, kind) != 0) {
    hk_os_release(mem, size);
    return NULL;
  }
  return mem;
}

void hk_region_unmap(void *base, size_t size) {
  /* The tombstone goes in before the unmap: a racing lookup sees either the
   * live region (whose header is still mapped) or the tombstone. */
  uintptr_t kind = hk_region_entry(base) & HK_REGION_TYPE_MASK;
  region_set(base, size, (uintptr_t)base | HK_REGION_RELEASED | (kind << 4));
  hk_os_release(base, size);
}

unsigned hk_region_released_kind(const void *p, uintptr_t e) {
  if ((e & HK_REGION_TYPE_MASK) != HK_REGION_RELEASED) return 0;
  /* mincore fails with ENOMEM exactly when the page is not mapped. */
  unsigned char vec;
  uintptr_t page = (uintptr_t)p & ~(uintptr_t)(hk_os_page_size() - 1);
  if (mincore((void *)page, hk_os_page_size(), &vec) == 0 || errno != ENOMEM) return 0;
  return HK_REGION_RELEASED_KIND(e);
}

/* ---- shared pool ----------------------------------------------------- */

static hk_lock_t g_pool_lock;
static void pool_lock(void);
static hk_slab_t *g_empty[HAK_SMALL_CLASSES];     /* dirty EMPTY slots, LIFO (see below) */
static uint32_t g_empty_dirty[HAK_SMALL_CLASSES]; /* of those, not purged */
static hk_slab_t *g_abandoned[HAK_SMALL_CLASSES]; /* owner exited, blocks live */
static hk_superslab_t *g_unused_list;             /* SuperSlabs with UNUSED slots */
static hk_superslab_t *g_lru_head, *g_lru_tail;   /* fully empty (see superslab_retire_locked) */
static uint32_t g_lru_count;
static uint32_t g_lru_dirty;                       /* of those, not purged yet */
static hk_superslab_t *g_all;                     /* mapped, not in the LRU */
static hk_seg_config_t g_cfg = {.lru_max = 4, .dirty_empty_max = 4};
/* HK_SRC_* per class; relaxed atomics, counted only when configured. */
static hk_atomic_word g_src[HAK_SMALL_CLASSES][HK_SRC_COUNT];
static struct {
  uint64_t superslabs_live, slabs_active, slabs_empty, slabs_abandoned, slabs_adopted;
} g_st;

static void empty_recount_hot_locked(void);

void hk_seg_configure(const hk_seg_config_t *cfg) {
  pool_lock();
  g_cfg = *cfg;
  empty_recount_hot_locked(); /* the reserve may have changed */
  hk_unlock(&g_pool_lock);
}

HAK_INLINE hk_superslab_t *ss_of(const hk_slab_t *s) {
  return (hk_superslab_t *)((uintptr_t)s & ~(uintptr_t)HK_SS_MASK);
}

/* ---- checked mode: live bits ------------------------------------------ */

#define LIVE_BITS_OFFSET (HAK_SLAB_SIZE / 2)
#define LIVE_BITS_PER_SLAB (HAK_SLAB_SIZE / HAK_TINY_MIN)
_Static_assert(sizeof(hk_superslab_t) <= LIVE_BITS_OFFSET, "header and live bits share slab 0");
_Static_assert(LIVE_BITS_OFFSET + HK_SS_SLABS * (LIVE_BITS_PER_SLAB / 8) <= HAK_SLAB_SIZE,
               "live bits fit in slab 0");

static hk_atomic_word *live_word(const hk_slab_t *s, const void *p, uintptr_t *bit) {
  uint32_t idx = (uint32_t)hk_slab_block_index(s, p);
  hk_atomic_word *words = (hk_atomic_word *)((uintptr_t)ss_of(s) + LIVE_BITS_OFFSET +
                                             (uintptr_t)s->index * (LIVE_BITS_PER_SLAB / 8));
  *bit = (uintptr_t)1 << (idx % 64);
  return &words[idx / 64];
}

bool hk_seg_block_set_live(const hk_slab_t *s, const void *p) {
  uintptr_t bit;
  hk_atomic_word *w = live_word(s, p, &bit);
  return (atomic_fetch_or_explicit(w, bit, memory_order_relaxed) & bit) != 0;
}

bool hk_seg_block_clear_live(const hk_slab_t *s, const void *p) {
  uintptr_t bit;
  hk_atomic_word *w = live_word(s, p, &bit);
  return (atomic_fetch_and_explicit(w, ~bit, memory_order_relaxed) & bit) != 0;
}

bool hk_seg_block_is_live(const hk_slab_t *s, const void *p) {
  uintptr_t bit;
  hk_atomic_word *w = live_word(s, p, &bit);
  return (hk_atomic_load_relaxed(w) & bit) != 0;
}

static bool class_heap(unsigned cls) { return g_cfg.page_counted[cls] != 0; }
static bool class_ultra(unsigned cls) { return g_cfg.ss_uncounted[cls] != 0; }
/* Pages keep `live` exact (the fronts count it to find empty pages); an
 * ss_uncounted class only leaves the SuperSlab counter alone. */
static bool class_counted_heap(unsigned cls) { return class_heap(cls); }

/* The SuperSlab counter follows `used` except for ULTRA classes. */
HAK_INLINE void ss_live_add(hk_slab_t *s, intptr_t d) {
  if (!class_ultra(s->cls)) hk_seg_live_add(s, (int32_t)d);
}

/* The SuperSlab's live-block counter: the sum of its slabs' shares. */
static uint64_t ss_live_blocks(const hk_superslab_t *ss) {
  int64_t n = 0;
  for (unsigned i = 1; i < HK_SS_SLABS; i++) n += (int32_t)hk_atomic_load_relaxed(&ss->slabs[i].ss_live);
  return (uint64_t)n;
}

HAK_INLINE void count_source(unsigned cls, unsigned src) {
  if (HAK_UNLIKELY(g_cfg.count_sources)) hk_atomic_add_relaxed(&g_src[cls][src], 1);
}

/* Page sync: makes `used` exact. A page adds its delta live - used (the
 * SuperSlab counter follows, except for ss_uncounted classes). */
static void meta_sync(hk_slab_t *s) {
  if (class_counted_heap(s->cls) && s->live != (int32_t)s->used) {
    int32_t d = s->live - (int32_t)s->used;
    s->used = (uint32_t)s->live;
    ss_live_add(s, (intptr_t)d);
  }
}

/* After the segment box changed `used` (remote drain, attach): a counted
 * page's exact count starts from it again. */
static void meta_reset(hk_slab_t *s) {
  if (class_counted_heap(s->cls)) s->live = (int32_t)s->used;
}

/* Blocks [0, n) of the slab have been handed out at some time. */
static void slab_set_carved(hk_slab_t *s, uint32_t n) {
  hk_atomic_store_relaxed(&s->carved, n);
  s->carve_end = (uintptr_t)hk_slab_base(s) + (uintptr_t)n * s->block_size;
}

/* Doubly linked slab lists (next/prev); head pointer passed by address. */
static void slab_list_push(hk_slab_t **head, hk_slab_t *s) {
  s->prev = NULL;
  s->next = *head;
  if (*head) (*head)->prev = s;
  *head = s;
}

static void slab_list_remove(hk_slab_t **head, hk_slab_t *s) {
  if (s->prev) s->prev->next = s->next;
  else *head = s->next;
  if (s->next) s->next->prev = s->prev;
  s->next = s->prev = NULL;
}

static void ss_list_push(hk_superslab_t **head, hk_superslab_t *ss) {
  ss->prev = NULL;
  ss->next = *head;
  if (*head) (*head)->prev = ss;
  *head = ss;
}

static void ss_list_remove(hk_superslab_t **head, hk_superslab_t *ss) {
  if (ss->prev) ss->prev->next = ss->next;
  else *head = ss->next;
  if (ss->next) ss->next->prev = ss->prev;
  ss->next = ss->prev = NULL;
}

static void all_push(hk_superslab_t *ss) {
  ss->all_prev = NULL;
  ss->all_next = g_all;
  if (g_all) g_all->all_prev = ss;
  g_all = ss;
}

static void all_remove(hk_superslab_t *ss) {
  if (ss->all_prev) ss->all_prev->all_next = ss->all_next;
  else g_all = ss->all_next;
  if (ss->all_next) ss->all_next->all_prev = ss->all_prev;
  ss->all_next = ss->all_prev = NULL;
}

#ifdef HAKMEM_FREELIST_ENCODING
uintptr_t hk_freelist_key;

/* The key is fixed before the first block can be linked (blocks exist only
 * in SuperSlabs): 8 of the kernel's 16 random bytes for this process. */
static void freelist_key_init(void) {
  if (hk_freelist_key != 0) return;
  uintptr_t k = 0;
  const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
  if (rnd != NULL) memcpy(&k, rnd + 8, sizeof(k));
  hk_freelist_key = k | 1u; /* never 0: "not yet set" */
}
#else
static void freelist_key_init(void) {}
#endif

static hk_superslab_t *superslab_map(void) {
  freelist_key_init();
  hk_superslab_t *ss = (hk_superslab_t *)hk_region_map(HK_SS_SIZE, HK_SS_SIZE, HK_REGION_SUPERSLAB);
  if (ss == NULL) return NULL;
  /* The page map names each 64 KiB granule's slab descriptor (slab 0: the
   * header's, which has no owner, so the free fast path never takes it). */
  if (hk_pagemap_set((uintptr_t)ss, HK_SS_SLABS, (uintptr_t)&ss->slabs[0], sizeof(hk_slab_t)) != 0) {
    hk_region_unmap(ss, HK_SS_SIZE);
    return NULL;
  }
  all_push(ss);
  /* Fresh anonymous memory is zero: only the non-zero fields are set. */
  ss->magic = HK_SS_MAGIC;
  ss->unused = HK_SS_SLABS - 1;
  for (unsigned i = 0; i < HK_SS_SLABS; i++) {
    ss->slabs[i].index = (uint8_t)i;
    ss->slabs[i].state = i == 0 ? HK_SLAB_HEADER : HK_SLAB_UNUSED;
  }
  g_st.superslabs_live++;
  return ss;
}

static void superslab_unmap(hk_superslab_t *ss) {
  ss->magic = 0;
  hk_pagemap_clear((uintptr_t)ss, HK_SS_SLABS);
  hk_region_unmap(ss, HK_SS_SIZE);
  g_st.superslabs_live--;
}

/* Returns an unused slab's memory to the OS; it stays dirty if the OS
 * refuses (mlocked memory), which only costs RSS: small blocks are zeroed by
 * calloc whatever their history. */
static void slab_purge(hk_slab_t *s) {
  if (s->dirty && hk_os_purge(hk_slab_base(s), HAK_SLAB_SIZE) == 0) s->dirty = 0;
}

/* ---- EMPTY slabs: reserve, hot slabs and decay ---------------------------- *
 * A class's EMPTY slabs sit on two lists: g_empty (dirty: not purged; the
 * most recently released first, g_empty_tail the oldest) and g_empty_clean
 * (purged); s->dirty tells which. Acquire takes dirty ones first. Per class,
 * up to the reserve R (dirty_empty_max, HAKMEM_EMPTY_SLAB_RESERVE) stay
 * dirty indefinitely. A class that recycles slabs (takes slabs back from its
 * own EMPTY list: a producer refilling what a consumer emptied) may keep
 * more: R + its reuses in the current and the previous decay period, and at
 * most HK_EMPTY_HOT_MAX such "hot" slabs beyond the reserves over all
 * classes. A release beyond that purges the class's oldest dirty slab, so a
 * class that only frees (a working set given back, a thread exiting) is
 * purged down to R at once, as before. Decay: a tick runs in the first pool
 * operation (slab acquire or release, any thread) at least
 * HK_EMPTY_PURGE_DELAY_MS after the previous tick and purges, per class, the
 * oldest dirty slabs beyond R that were not needed since the previous tick
 * (the low-water mark of the dirty count over the period). A slab emptied
 * and refilled within a period is never purged; an idle hot one is purged by
 * the second tick after its release (within 2 x the delay while pool
 * operations go on). Nothing in the slab descriptor: counts per class. */
/* Until the policy box has variables for them (proposed:
 * HAKMEM_EMPTY_SLAB_PURGE_DELAY_MS and HAKMEM_EMPTY_SLAB_CACHE_BYTES). */
#define HK_EMPTY_PURGE_DELAY_MS 1000u
#define HK_EMPTY_HOT_MAX 128u /* 8 MiB of 64 KiB slabs */
static hk_slab_t *g_empty_tail[HAK_SMALL_CLASSES];  /* oldest dirty EMPTY slab */
static hk_slab_t *g_empty_clean[HAK_SMALL_CLASSES]; /* purged EMPTY slabs */
static uint32_t g_empty_low[HAK_SMALL_CLASSES];     /* least g_empty_dirty since the last tick */
static uint32_t g_empty_hot;                        /* sum of dirty beyond the reserves */
static uint64_t g_empty_tick_ms;                    /* next decay tick */
/* Slabs of the class taken back from its own EMPTY list, this period and the
 * previous one: the class's recent demand for recycled slabs. */
static uint32_t g_empty_reuse[2][HAK_SMALL_CLASSES];

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The clock as read just before the pool lock was last taken: the decay
 * tick needs the time, and no clock read happens under the lock. */
static uint64_t g_pool_now_ms;

static void pool_lock(void) {
  uint64_t now = now_ms();
  hk_lock(&g_pool_lock);
  g_pool_now_ms = now;
}

static void empty_push_dirty(hk_slab_t *s) {
  unsigned c = s->cls;
  slab_list_push(&g_empty[c], s);
  if (g_empty_tail[c] == NULL) g_empty_tail[c] = s;
  if (g_empty_dirty[c]++ >= g_cfg.dirty_empty_max) g_empty_hot++;
}

/* Takes an EMPTY slab off its list (dirty or clean). */
static void empty_unlink(hk_slab_t *s) {
  unsigned c = s->cls;
  if (!s->dirty) {
    slab_list_remove(&g_empty_clean[c], s);
    return;
  }
  if (g_empty_tail[c] == s) g_empty_tail[c] = s->prev;
  slab_list_remove(&g_empty[c], s);
  if (--g_empty_dirty[c] >= g_cfg.dirty_empty_max) g_empty_hot--;
  if (g_empty_dirty[c] < g_empty_low[c]) g_empty_low[c] = g_empty_dirty[c];
}

/* Purges the oldest dirty EMPTY slab of class c. False if there is none or
 * the OS refused (it stays dirty, back on top: the next attempt tries
 * another). */
static bool empty_purge_oldest(unsigned c) {
  hk_slab_t *s = g_empty_tail[c];
  if (s == NULL) return false;
  empty_unlink(s);
  slab_purge(s);
  if (s->dirty) {
    empty_push_dirty(s);
    return false;
  }
  slab_list_push(&g_empty_clean[c], s);
  return true;
}

static void empty_recount_hot_locked(void) {
  g_empty_hot = 0;
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    if (g_empty_dirty[c] > g_cfg.dirty_empty_max) g_empty_hot += g_empty_dirty[c] - g_cfg.dirty_empty_max;
  }
}

static void superslab_purge(hk_superslab_t *ss);

static void empty_decay_locked(void) {
  uint64_t now = g_pool_now_ms;
  if (now < g_empty_tick_ms) return;
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    uint32_t low = g_empty_low[c], keep = g_cfg.dirty_empty_max;
    for (uint32_t n = low > keep ? low - keep : 0; n > 0 && empty_purge_oldest(c); n--) {
    }
    g_empty_low[c] = g_empty_dirty[c];
    g_empty_reuse[1][c] = g_empty_reuse[0][c];
    g_empty_reuse[0][c] = 0;
  }
  for (hk_superslab_t *ss = g_lru_head; ss != NULL && g_lru_dirty > 0; ss = ss->next) {
    if (!ss->lru_dirty) continue;
    if (ss->lru_aged) superslab_purge(ss);
    else ss->lru_aged = 1;
  }
  g_empty_tick_ms = now + HK_EMPTY_PURGE_DELAY_MS;
}

/* Purges every dirty slab of a SuperSlab in the LRU, one madvise per run of
 * adjacent dirty slabs. */
static void superslab_purge(hk_superslab_t *ss) {
  for (unsigned i = 1; i < HK_SS_SLABS;) {
    if (!ss->slabs[i].dirty) {
      i++;
      continue;
    }
    unsigned j = i;
    while (j < HK_SS_SLABS && ss->slabs[j].dirty) j++;
    if (hk_os_purge(hk_slab_base(&ss->slabs[i]), (size_t)(j - i) * HAK_SLAB_SIZE) == 0) {
      for (unsigned k = i; k < j; k++) ss->slabs[k].dirty = 0;
    }
    i = j;
  }
  if (ss->lru_dirty) {
    ss->lru_dirty = ss->lru_aged = 0;
    g_lru_dirty--;
  }
}

static void lru_unlink_locked(hk_superslab_t *ss) {
  if (g_lru_tail == ss) g_lru_tail = ss->prev;
  ss_list_remove(&g_lru_head, ss);
  g_lru_count--;
  ss->in_lru = 0;
  if (ss->lru_dirty) {
    ss->lru_dirty = ss->lru_aged = 0;
    g_lru_dirty--;
  }
}

/* A SuperSlab whose last ACTIVE slab went away parks in the LRU (unmapped
 * beyond the LRU bound, least recently emptied first). Its slabs are not
 * purged at once: a producer whose consumer frees in allocation order
 * empties whole SuperSlabs and needs them again within milliseconds (purged
 * at once, 8 KiB cross-thread frees made one madvise and 16 page faults per
 * 8 blocks). At most HK_LRU_DIRTY_MAX SuperSlabs stay dirty (the oldest
 * dirty one is purged beyond that), and a dirty one is purged by the second
 * decay tick after its retirement, like an idle hot slab. */
#define HK_LRU_DIRTY_MAX 4u

static void superslab_retire_locked(hk_superslab_t *ss) {
  bool dirty = false;
  for (unsigned i = 1; i < HK_SS_SLABS; i++) {
    hk_slab_t *s = &ss->slabs[i];
    if (s->state == HK_SLAB_EMPTY) {
      empty_unlink(s);
      g_st.slabs_empty--;
    }
    dirty |= s->dirty != 0;
    s->state = HK_SLAB_UNUSED;
  }
  ss->unused = HK_SS_SLABS - 1;
  if (ss->on_unused_list) {
    ss_list_remove(&g_unused_list, ss);
    ss->on_unused_list = 0;
  }
  all_remove(ss);
  ss->in_lru = 1;
  ss_list_push(&g_lru_head, ss);
  if (g_lru_tail == NULL) g_lru_tail = ss;
  g_lru_count++;
  if (dirty) {
    ss->lru_dirty = 1;
    ss->lru_aged = 0;
    if (++g_lru_dirty > HK_LRU_DIRTY_MAX) {
      hk_superslab_t *old = g_lru_tail;
      while (!old->lru_dirty) old = old->prev;
      superslab_purge(old);
    }
  }
  while (g_lru_count > g_cfg.lru_max) {
    hk_superslab_t *old = g_lru_tail;
    lru_unlink_locked(old);
    superslab_unmap(old);
  }
}

static hk_superslab_t *lru_pop_locked(void) {
  hk_superslab_t *ss = g_lru_head;
  if (ss == NULL) return NULL;
  lru_unlink_locked(ss);
  return ss;
}

/* page_becomes_empty: an owned slab whose blocks are all back goes to the
 * pool as EMPTY (same-class reuse first); pool lock held. */
static void slab_release_locked(hk_slab_t *s) {
  hk_superslab_t *ss = ss_of(s);
  hk_atomic_store_relaxed(&s->owner, 0);
  s->list = HK_LIST_NONE;
  s->dirty = 1;
  g_st.slabs_active--;
  if (--ss->active == 0) {
    /* Not on any EMPTY list: the retire walk only unlinks listed slabs. */
    s->state = HK_SLAB_UNUSED;
    superslab_retire_locked(ss);
    return;
  }
  s->state = HK_SLAB_EMPTY;
  empty_push_dirty(s);
  g_st.slabs_empty++;
  /* Beyond the reserve plus the class's recent reuses, or beyond the hot
   * bound: the class's oldest dirty slab goes back to the OS (the new one
   * stays on top, for quick reuse). */
  const unsigned c = s->cls;
  const uint32_t reserve = g_cfg.dirty_empty_max;
  if (g_empty_dirty[c] > reserve + g_empty_reuse[0][c] + g_empty_reuse[1][c] ||
      (g_empty_dirty[c] > reserve && g_empty_hot > HK_EMPTY_HOT_MAX)) {
    empty_purge_oldest(c);
  }
  empty_decay_locked();
}

static void slab_activate(hk_slab_t *s, unsigned cls, uintptr_t owner) {
  hk_superslab_t *ss = ss_of(s);
  s->cls = (uint8_t)cls;
  s->block_size = (uint16_t)hk_class_size[cls];
  s->capacity = (uint16_t)hk_class_capacity(cls);
  s->free = NULL;
  s->used = 0;
  s->live = 0;
  s->align_mask = hk_bits_is_pow2(s->block_size) ? (uintptr_t)s->block_size - 1 : 0;
  s->div_magic = hk_class_div_magic[cls];
  slab_set_carved(s, 0);
  s->state = HK_SLAB_ACTIVE;
  s->list = HK_LIST_NONE;
  s->next = s->prev = NULL;
  hk_atomic_store_relaxed(&s->remote, 0);
  hk_atomic_store_relaxed(&s->owner, owner);
  ss->active++;
  g_st.slabs_active++;
}

static hk_slab_t *take_empty_locked(unsigned cls) {
  hk_slab_t *s = g_empty[cls] != NULL ? g_empty[cls] : g_empty_clean[cls]; /* dirty first */
  if (s == NULL) return NULL;
  empty_unlink(s);
  g_st.slabs_empty--;
  s->dirty = 0;
  return s;
}

static hk_slab_t *take_unused_locked(void) {
  hk_superslab_t *ss = g_unused_list;
  if (ss == NULL) return NULL;
  for (unsigned i = 1; i < HK_SS_SLABS; i++) {
    hk_slab_t *s = &ss->slabs[i];
    if (s->state == HK_SLAB_UNUSED) {
      if (--ss->unused == 0) {
        ss_list_remove(&g_unused_list, ss);
        ss->on_unused_list = 0;
      }
      return s;
    }
  }
  hk_fatal("segment: SuperSlab %p on the unused list has no UNUSED slot", (void *)ss);
}

/* Shared pool acquire: adopt > EMPTY same class > UNUSED > EMPTY other class
 * > new SuperSlab. Returns an ACTIVE slab owned by `owner`, or NULL. */
static hk_slab_t *pool_acquire(unsigned cls, uintptr_t owner) {
  pool_lock();
  empty_decay_locked();
  hk_slab_t *s = g_abandoned[cls];
  if (s != NULL) { /* stage 0: adopt a slab of an exited thread */
    slab_list_remove(&g_abandoned[cls], s);
    s->list = HK_LIST_NONE;
    hk_atomic_store_relaxed(&s->owner, owner);
    g_st.slabs_abandoned--;
    g_st.slabs_adopted++;
    hk_unlock(&g_pool_lock);
    count_source(cls, HK_SRC_ADOPT);
    return s;
  }
  unsigned src = HK_SRC_EMPTY;
  s = take_empty_locked(cls); /* stage 1 */
  if (s != NULL) g_empty_reuse[0][cls]++;
  if (s == NULL) {
    src = HK_SRC_UNUSED;
    s = take_unused_locked(); /* stage 2 */
  }
  if (s == NULL) {
    for (unsigned c = 0; c < HAK_SMALL_CLASSES && s == NULL; c++) s = take_empty_locked(c);
  }
  if (s == NULL) { /* stage 3 */
    src = HK_SRC_NEW;
    hk_superslab_t *ss = lru_pop_locked();
    if (ss != NULL) all_push(ss);
    else ss = superslab_map();
    if (ss != NULL) {
      ss->on_unused_list = 1;
      ss_list_push(&g_unused_list, ss);
      s = take_unused_locked();
    }
  }
  if (s != NULL) slab_activate(s, cls, owner);
  hk_unlock(&g_pool_lock);
  count_source(cls, s != NULL ? src : HK_SRC_OOM);
  return s;
}

/* ---- owner side -------------------------------------------------------- */

void hk_seg_link_check(const hk_slab_t *s, const hk_block_t *b, const hk_block_t *next) {
  if (next == NULL) return;
  uintptr_t base = (uintptr_t)hk_slab_base(s), off = (uintptr_t)next - base;
  const char *why = NULL;
  if (off >= HAK_SLAB_SIZE) why = "outside its slab";
  else if (hk_class_div(s->cls, (uint32_t)off) * s->block_size != off) why = "not a block start";
  else if (hk_class_div(s->cls, (uint32_t)off) >= hk_slab_carved(s)) why = "a block never handed out";
  else if (g_cfg.checked && hk_seg_block_is_live(s, next)) why = "a block the program holds (checked mode)";
  if (why != NULL) {
    hk_fatal("malloc(): corrupted free list: free block %p (block size %u, slab %p) links to %p, %s "
             "(write after free?)",
             (const void *)b, (unsigned)s->block_size, (void *)base, (const void *)next, why);
  }
}

/* Moves the slab's remote frees to its free list (owner or pool lock). */
static void slab_drain_remote(hk_slab_t *s) {
  hk_block_t *chain = (hk_block_t *)hk_atomic_exchange_acquire(&s->remote, 0);
  if (chain == NULL) return;
  meta_sync(s);
  uint32_t n = 1;
  hk_block_t *tail = chain;
  for (hk_block_t *nx; (nx = hk_block_next(tail)) != NULL;) {
    if (HAK_UNLIKELY(g_cfg.checked)) hk_seg_link_check(s, tail, nx);
    tail = nx;
    /* A block pushed twice (freed twice by other threads) links the queue
     * into a cycle: report it instead of walking forever. */
    if (HAK_UNLIKELY(++n > s->capacity)) {
      hk_fatal("free(): double free of %p by another thread (its slab's remote-free queue %p loops; "
               "block size %u)",
               (void *)tail, (void *)hk_slab_base(s), (unsigned)s->block_size);
    }
  }
  hk_block_set_next(tail, s->free);
  s->free = chain;
  if (HAK_UNLIKELY(n > s->used)) {
    hk_fatal("segment: slab %p (class %u) got %u remote frees with only %u blocks in use: "
             "double free or corrupted heap",
             (void *)hk_slab_base(s), (unsigned)s->cls, n, s->used);
  }
  s->used -= n;
  ss_live_add(s, -(intptr_t)n);
  meta_reset(s);
}

void hk_seg_batch_flush(hk_seg_batch_t *b) {
  hk_slab_t *s = b->slab;
  if (s == NULL) return;
  hk_block_t *head = b->head, *tail = b->tail;
  b->slab = NULL;
  b->head = b->tail = NULL;
  b->n = 0;
  uintptr_t old = hk_atomic_load_relaxed(&s->remote);
  do {
    hk_block_set_next(tail, (hk_block_t *)old);
  } while (!hk_atomic_cas_weak_release(&s->remote, &old, (uintptr_t)head));
}

void hk_seg_batch_double_free(const hk_slab_t *s, const void *p) {
  hk_fatal("free(): double free of %p by another thread (block size %u, slab %p)", p, (unsigned)s->block_size,
           (void *)hk_slab_base(s));
}

/* Takes up to want blocks into dst[0..n); remote frees are drained first.
 * Free-list blocks are read (their links); blocks carved now are not
 * touched at all (a mid block of up to 32 KiB stays cold until the program
 * writes it). */
static uint32_t slab_take(hk_slab_t *s, uint32_t want, void **dst) {
  if (hk_atomic_load_relaxed(&s->remote) != 0) slab_drain_remote(s);
  uint32_t n = 0;
  while (n < want && s->free != NULL) {
    hk_block_t *b = s->free;
    s->free = hk_block_next(b);
    hk_seg_link_check(s, b, s->free);
    dst[n++] = b;
  }
  uint32_t carved = hk_atomic_load_relaxed(&s->carved);
  if (n < want && carved < s->capacity) {
    uint8_t *p = hk_slab_base(s) + (size_t)carved * s->block_size;
    uint32_t take = s->capacity - carved;
    if (take > want - n) take = want - n;
    for (uint32_t i = 0; i < take; i++, p += s->block_size) dst[n++] = p;
    slab_set_carved(s, carved + take);
  }
  s->used += n;
  ss_live_add(s, (intptr_t)n);
  return n;
}

static void owner_list_remove(hk_seg_class_t *sc, hk_slab_t *s) {
  if (s->list == HK_LIST_PARTIAL) {
    slab_list_remove(&sc->partial, s);
  } else if (s->list == HK_LIST_FULL) {
    if (sc->full_cursor == s) sc->full_cursor = s->next;
    slab_list_remove(&sc->full, s);
  }
  s->list = HK_LIST_NONE;
}

static void page_becomes_empty(hk_seg_class_t *sc, hk_slab_t *s) {
  owner_list_remove(sc, s);
  if (sc->current == s) sc->current = NULL;
  sc->nslabs--;
  pool_lock();
  slab_release_locked(s);
  hk_unlock(&g_pool_lock);
}

/* Looks at up to HK_FULL_SCAN_MAX full slabs for remote frees (or, for
 * pages, local frees: those push onto a full page without moving it),
 * resuming where the last scan stopped (so every full slab is seen in turn);
 * returns one that has free blocks now, sending emptied ones back to the
 * pool. */
static hk_slab_t *scan_full(hk_seg_class_t *sc) {
  for (uint32_t i = 0; i < HK_FULL_SCAN_MAX && sc->full != NULL; i++) {
    hk_slab_t *s = sc->full_cursor ? sc->full_cursor : sc->full;
    sc->full_cursor = s->next;
    if (hk_atomic_load_relaxed(&s->remote) == 0 && s->free == NULL) continue;
    owner_list_remove(sc, s);
    meta_sync(s);
    slab_drain_remote(s);
    if (s->used == 0) {
      sc->nslabs--;
      pool_lock();
      slab_release_locked(s);
      hk_unlock(&g_pool_lock);
      continue;
    }
    return s;
  }
  return NULL;
}

uint32_t hk_seg_refill(hk_seg_class_t *sc, unsigned cls, uintptr_t owner, uint32_t want, void **dst) {
  uint32_t n = 0;
  for (;;) {
    hk_slab_t *s = sc->current;
    if (s != NULL) {
      uint32_t got = slab_take(s, want - n, dst + n);
      if (got > 0) count_source(cls, HK_SRC_PAGE);
      n += got;
      if (n == want) return n;
      sc->current = NULL; /* before the push: never current and full at once (fork) */
      s->list = HK_LIST_FULL;
      slab_list_push(&sc->full, s);
    }
    if (sc->partial != NULL) {
      s = sc->partial;
      owner_list_remove(sc, s);
      s->home = sc->home;
      sc->current = s;
      continue;
    }
    s = scan_full(sc);
    if (s == NULL) {
      s = pool_acquire(cls, owner);
      if (s == NULL) return n;
      sc->nslabs++;
    } else {
      count_source(cls, HK_SRC_FULL_SCAN);
    }
    s->home = sc->home;
    sc->current = s;
  }
}

void hk_seg_free_local(hk_seg_class_t *sc, hk_slab_t *s, void *p) {
  hk_block_t *b = (hk_block_t *)p;
  hk_block_set_next(b, s->free);
  s->free = b;
  if (HAK_UNLIKELY(s->used == 0)) {
    hk_fatal("free(): pointer %p: block of class %u freed more often than allocated (double free)",
             p, (unsigned)s->cls);
  }
  s->used--;
  ss_live_add(s, -1);
  if (s->used == 0 && s != sc->current && hk_atomic_load_relaxed(&s->remote) == 0) {
    page_becomes_empty(sc, s);
  } else if (s->list == HK_LIST_FULL) {
    owner_list_remove(sc, s);
    s->list = HK_LIST_PARTIAL;
    slab_list_push(&sc->partial, s);
  }
}

/* ---- page boundaries ------------------------------------------------------- */

/* Carves up to one OS page worth of blocks (at least 8) onto the page's free
 * list, lowest address first. False if every block was carved already. */
static bool page_extend(hk_slab_t *s) {
  uint32_t carved = hk_atomic_load_relaxed(&s->carved);
  if (carved >= s->capacity) return false;
  uint32_t take = 4096u / s->block_size;
  if (take < 8) take = 8;
  if (take > s->capacity - carved) take = s->capacity - carved;
  uint8_t *base = hk_slab_base(s);
  hk_block_t *chain = s->free;
  for (uint32_t i = take; i-- > 0;) {
    hk_block_t *b = (hk_block_t *)(base + (size_t)(carved + i) * s->block_size);
    hk_block_set_next(b, chain);
    chain = b;
  }
  s->free = chain;
  slab_set_carved(s, carved + take);
  return true;
}

/* A page becoming a thread's current page: counters beyond the carved
 * blocks cannot be right (a corrupted heap); report once and clamp. */
static void page_attach(hk_slab_t *s) {
  static hk_atomic_u32 reported;
  meta_sync(s);
  uint32_t carved = hk_slab_carved(s);
  if (HAK_UNLIKELY(s->used > carved)) {
    if (hk_atomic_exchange_acq_rel(&reported, 1u) == 0) {
      hk_report("segment: page %p (class %u) counted %u blocks in use of %u carved; clamped",
                (void *)hk_slab_base(s), (unsigned)s->cls, s->used, carved);
    }
    ss_live_add(s, (intptr_t)carved - (intptr_t)s->used);
    s->used = carved;
  }
  meta_reset(s);
}

bool hk_seg_alloc_slow_from_class(hk_seg_class_t *sc, unsigned cls, uintptr_t owner) {
  for (;;) {
    hk_slab_t *s = sc->current;
    if (s != NULL) {
      if (s->free != NULL) return true;
      if (hk_atomic_load_relaxed(&s->remote) != 0) {
        slab_drain_remote(s); /* syncs the page's counters first */
        count_source(cls, HK_SRC_REMOTE);
        return true;
      }
      if (page_extend(s)) {
        count_source(cls, HK_SRC_PAGE);
        return true;
      }
      meta_sync(s); /* the page leaves current: its counters go exact */
      sc->current = NULL;
      s->list = HK_LIST_FULL;
      slab_list_push(&sc->full, s);
    }
    if (sc->partial != NULL) {
      s = sc->partial;
      owner_list_remove(sc, s);
    } else if ((s = scan_full(sc)) != NULL) {
      count_source(cls, HK_SRC_FULL_SCAN);
    } else {
      s = pool_acquire(cls, owner);
      if (s == NULL) return false;
      sc->nslabs++;
    }
    page_attach(s);
    sc->current = s;
  }
}

void hk_seg_page_becomes_empty(hk_seg_class_t *sc, hk_slab_t *s) {
  meta_sync(s);
  if (s->used == 0 && s != sc->current && hk_atomic_load_relaxed(&s->remote) == 0) page_becomes_empty(sc, s);
}

void hk_seg_class_sync(hk_seg_class_t *sc) {
  if (sc->current) meta_sync(sc->current);
  for (hk_slab_t *s = sc->partial; s != NULL; s = s->next) meta_sync(s);
  for (hk_slab_t *s = sc->full; s != NULL; s = s->next) meta_sync(s);
}

static void abandon_locked(hk_slab_t *s) {
  hk_atomic_store_relaxed(&s->owner, 0);
  s->list = HK_LIST_ABANDONED;
  slab_list_push(&g_abandoned[s->cls], s);
  g_st.slabs_abandoned++;
}

static void release_or_abandon(hk_slab_t *s, bool take_lock) {
  s->list = HK_LIST_NONE;
  s->next = s->prev = NULL;
  meta_sync(s);
  slab_drain_remote(s);
  if (take_lock) pool_lock();
  if (s->used == 0) slab_release_locked(s);
  else abandon_locked(s);
  if (take_lock) hk_unlock(&g_pool_lock);
}

static void class_release(hk_seg_class_t *sc, bool take_lock) {
  /* Unhook each slab from the set before releasing it: fork() can snapshot
   * this thread while it waits for the pool lock (fork_prepare holds it),
   * and the child's abandon_after_fork must not release a slab twice. */
  hk_slab_t *cur = sc->current;
  sc->current = NULL;
  if (cur) release_or_abandon(cur, take_lock);
  while (sc->partial) {
    hk_slab_t *s = sc->partial;
    sc->partial = s->next;
    release_or_abandon(s, take_lock);
  }
  while (sc->full) {
    hk_slab_t *s = sc->full;
    sc->full = s->next;
    release_or_abandon(s, take_lock);
  }
  sc->current = NULL;
  sc->full_cursor = NULL;
  sc->nslabs = 0;
}

void hk_seg_class_release_all(hk_seg_class_t *sc) { class_release(sc, true); }

void hk_seg_class_abandon_after_fork(hk_seg_class_t *sc) { class_release(sc, false); }

void hk_seg_fork_child_disown(uintptr_t keep_a, uintptr_t keep_b) {
  for (hk_superslab_t *ss = g_all; ss != NULL; ss = ss->all_next) {
    for (unsigned i = 1; i < HK_SS_SLABS; i++) {
      hk_slab_t *s = &ss->slabs[i];
      uintptr_t owner = hk_atomic_load_relaxed(&s->owner);
      if (s->state != HK_SLAB_ACTIVE || owner == 0 || s->list == HK_LIST_ABANDONED) continue;
      uintptr_t token = hk_owner_token(owner);
      if (token == keep_a || token == keep_b) continue;
      release_or_abandon(s, false);
    }
  }
}

/* ---- maintenance ----------------------------------------------------------- */

size_t hk_seg_trim(void) {
  size_t released = 0;
  pool_lock();
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    hk_slab_t *s = g_abandoned[c];
    while (s != NULL) {
      hk_slab_t *next = s->next;
      slab_drain_remote(s);
      if (s->used == 0) {
        slab_list_remove(&g_abandoned[c], s);
        g_st.slabs_abandoned--;
        slab_release_locked(s);
      }
      s = next;
    }
  }
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    for (uint32_t n = g_empty_dirty[c]; n > 0 && empty_purge_oldest(c); n--) released += HAK_SLAB_SIZE;
  }
  while (g_lru_head != NULL) {
    superslab_unmap(lru_pop_locked());
    released += HK_SS_SIZE;
  }
  hk_unlock(&g_pool_lock);
  return released;
}

void hk_seg_stats_get(hk_seg_stats_t *out) {
  pool_lock();
  out->superslabs_live = g_st.superslabs_live;
  out->superslabs_cached = g_lru_count;
  out->slabs_active = g_st.slabs_active;
  out->slabs_empty = g_st.slabs_empty;
  out->slabs_abandoned = g_st.slabs_abandoned;
  out->slabs_adopted = g_st.slabs_adopted;
  hk_unlock(&g_pool_lock);
}

void hk_seg_source_counts(unsigned cls, uint64_t *out) {
  if (cls >= HAK_SMALL_CLASSES) return;
  for (unsigned i = 0; i < HK_SRC_COUNT; i++) out[i] += hk_atomic_load_relaxed(&g_src[cls][i]);
}

uint64_t hk_seg_live_blocks(void) {
  uint64_t n = 0;
  pool_lock();
  for (hk_superslab_t *ss = g_all; ss != NULL; ss = ss->all_next) n += ss_live_blocks(ss);
  hk_unlock(&g_pool_lock);
  return n;
}

void hk_seg_usage_get(hk_seg_usage_t *out) {
  memset(out, 0, sizeof(*out));
  pool_lock();
  for (hk_superslab_t *ss = g_all; ss != NULL; ss = ss->all_next) {
    for (unsigned i = 1; i < HK_SS_SLABS; i++) {
      const hk_slab_t *sl = &ss->slabs[i];
      if (sl->state != HK_SLAB_ACTIVE || sl->cls >= HAK_SMALL_CLASSES) continue;
      /* The owner's counts, read as a snapshot: a page's exact `live`, else
       * the slab's `used`. */
      int64_t n = class_counted_heap(sl->cls) ? (int64_t)__atomic_load_n(&sl->live, __ATOMIC_RELAXED)
                                              : (int64_t)__atomic_load_n(&sl->used, __ATOMIC_RELAXED);
      uint32_t used = n < 0 ? 0u : n > sl->capacity ? sl->capacity : (uint32_t)n;
      out->used_blocks[sl->cls] += used;
      out->free_blocks[sl->cls] += sl->capacity - used;
    }
  }
  hk_unlock(&g_pool_lock);
}

/* Lock order: pool before registry (pool_acquire maps SuperSlabs, which
 * registers them, with the pool lock held). */
void hk_seg_fork_prepare(void) {
  pool_lock();
  hk_lock(&g_registry_lock);
}

void hk_seg_fork_parent(void) {
  hk_unlock(&g_registry_lock);
  hk_unlock(&g_pool_lock);
}

void hk_seg_fork_child(void) {
  hk_lock_reset(&g_pool_lock);
  hk_lock_reset(&g_registry_lock);
  /* A parent thread caught between its update of a slab's `used` and of its
   * share of the SuperSlab counter (two plain updates) left them apart; the
   * child is single-threaded here: recount. */
  for (hk_superslab_t *ss = g_all; ss != NULL; ss = ss->all_next) {
    for (unsigned i = 1; i < HK_SS_SLABS; i++) {
      hk_slab_t *sl = &ss->slabs[i];
      uint32_t n = sl->state == HK_SLAB_ACTIVE && !class_ultra(sl->cls) ? sl->used : 0u;
      hk_atomic_store_relaxed(&sl->ss_live, n);
    }
  }
}

/* ---- consistency check -------------------------------------------------- */

static int check_list(hk_slab_t *head, unsigned cls, uint8_t state, uint8_t list, const char *what) {
  int bad = 0;
  for (hk_slab_t *s = head; s != NULL; s = s->next) {
    if (s->state != state || s->cls != cls || (list != HK_LIST_NONE && s->list != list)) {
      hk_report("check: slab %p on the %s list of class %u has state %u class %u list %u",
                (void *)hk_slab_base(s), what, cls, s->state, s->cls, s->list);
      bad++;
    }
    if (s->next && s->next->prev != s) {
      hk_report("check: broken %s list link at slab %p", what, (void *)hk_slab_base(s));
      bad++;
    }
  }
  return bad;
}

static int check_free_list(hk_slab_t *s) {
  uint32_t n = 0;
  uint8_t *base = hk_slab_base(s);
  for (hk_block_t *b = s->free; b != NULL; b = hk_block_next(b)) {
    long idx = hk_slab_block_index(s, b);
    if ((uint8_t *)b < base || idx < 0 || (uint32_t)idx >= hk_slab_carved(s)) {
      hk_report("check: slab %p free list holds %p, not a handed-out block", (void *)base, (void *)b);
      return 1;
    }
    if (++n > s->capacity) {
      hk_report("check: slab %p free list is longer than its capacity (cycle)", (void *)base);
      return 1;
    }
    if (g_cfg.checked && hk_seg_block_is_live(s, b)) {
      hk_report("check: slab %p free list holds %p, which the program holds (checked mode)",
                (void *)base, (void *)b);
      return 1;
    }
  }
  if (n + s->used != hk_slab_carved(s)) {
    hk_report("check: slab %p: %u free + %u used != %u carved", (void *)base, n, s->used,
              hk_slab_carved(s));
    return 1;
  }
  return 0;
}

/* One block of slab s met on one of its lists; seen[] has a bit per block.
 * Returns 1 (after a report) if it is not a handed-out block, was met
 * before (a block in two places), or (checked mode) the program holds it. */
static int check_block(hk_slab_t *s, const hk_block_t *b, uint64_t *seen, const char *where) {
  uint8_t *base = hk_slab_base(s);
  long idx = hk_slab_block_index(s, b);
  if ((const uint8_t *)b < base || idx < 0 || (uint32_t)idx >= hk_slab_carved(s)) {
    hk_report("check: slab %p %s holds %p, not a handed-out block", (void *)base, where, (const void *)b);
    return 1;
  }
  uint64_t bit = (uint64_t)1 << (idx % 64);
  if (seen[idx / 64] & bit) {
    hk_report("check: slab %p: block %p is twice on its lists (second time on the %s)", (void *)base,
              (const void *)b, where);
    return 1;
  }
  seen[idx / 64] |= bit;
  if (g_cfg.checked && hk_seg_block_is_live(s, b)) {
    hk_report("check: slab %p %s holds %p, which the program holds (checked mode)", (void *)base, where,
              (const void *)b);
    return 1;
  }
  return 0;
}

/* Every ACTIVE slab at a quiescent point: its free list and remote queue
 * hold valid blocks, none twice and none in both (the SPEC invariant), and
 * free-list blocks + blocks outside the slab == blocks carved (remote-queue
 * blocks count as outside until drained; not checkable in meta mode ULTRA). */
static int check_slab_blocks(hk_slab_t *s) {
  uint64_t seen[HAK_SLAB_SIZE / HAK_TINY_MIN / 64];
  memset(seen, 0, sizeof(seen));
  uint32_t n = 0;
  for (hk_block_t *b = s->free; b != NULL; b = hk_block_next(b)) {
    if (check_block(s, b, seen, "free list")) return 1;
    if (++n > s->capacity) {
      hk_report("check: slab %p free list is longer than its capacity (cycle)", (void *)hk_slab_base(s));
      return 1;
    }
  }
  uint32_t r = 0;
  for (hk_block_t *b = (hk_block_t *)hk_atomic_load_acquire(&s->remote); b != NULL; b = hk_block_next(b)) {
    if (check_block(s, b, seen, "remote queue")) return 1;
    if (++r > s->capacity) {
      hk_report("check: slab %p remote queue is longer than its capacity (cycle)", (void *)hk_slab_base(s));
      return 1;
    }
  }
  uint32_t outside = class_counted_heap(s->cls) ? (uint32_t)s->live : s->used;
  if (n + outside != hk_slab_carved(s)) {
    hk_report("check: slab %p (class %u): %u free + %u outside != %u carved", (void *)hk_slab_base(s), s->cls,
              n, outside, hk_slab_carved(s));
    return 1;
  }
  return 0;
}

/* The dirty EMPTY list holds exactly g_empty_dirty[c] dirty slabs and ends
 * at g_empty_tail[c]; the purged list only clean ones. */
static int check_empty_lists(unsigned c) {
  uint32_t n = 0;
  const hk_slab_t *last = NULL;
  int bad = 0;
  for (const hk_slab_t *s = g_empty[c]; s != NULL; s = s->next, n++) {
    bad += !s->dirty;
    last = s;
  }
  for (const hk_slab_t *s = g_empty_clean[c]; s != NULL; s = s->next) bad += s->dirty;
  if (bad != 0 || n != g_empty_dirty[c] || last != g_empty_tail[c]) {
    hk_report("check: class %u EMPTY lists: %u dirty slabs listed, %u counted, %d on the wrong list", c, n,
              g_empty_dirty[c], bad);
    return 1;
  }
  return 0;
}

int hk_seg_check(void) {
  int bad = 0;
  pool_lock();
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    bad += check_list(g_empty[c], c, HK_SLAB_EMPTY, HK_LIST_NONE, "empty");
    bad += check_list(g_empty_clean[c], c, HK_SLAB_EMPTY, HK_LIST_NONE, "purged empty");
    bad += check_empty_lists(c);
    bad += check_list(g_abandoned[c], c, HK_SLAB_ACTIVE, HK_LIST_ABANDONED, "abandoned");
    for (hk_slab_t *s = g_abandoned[c]; s != NULL; s = s->next) {
      slab_drain_remote(s);
      bad += check_free_list(s);
    }
  }
  for (hk_superslab_t *ss = g_all; ss != NULL; ss = ss->all_next) {
    for (unsigned i = 1; i < HK_SS_SLABS; i++) {
      if (ss->slabs[i].state == HK_SLAB_ACTIVE) bad += check_slab_blocks(&ss->slabs[i]);
    }
  }
  for (hk_superslab_t *ss = g_unused_list; ss != NULL; ss = ss->next) {
    unsigned active = 0, unused = 0;
    for (unsigned i = 1; i < HK_SS_SLABS; i++) {
      active += ss->slabs[i].state == HK_SLAB_ACTIVE;
      unused += ss->slabs[i].state == HK_SLAB_UNUSED;
    }
    if (ss->magic != HK_SS_MAGIC || active != ss->active || unused != ss->unused || unused == 0) {
      hk_report("check: SuperSlab %p counts active %u/%u unused %u/%u", (void *)ss, active,
                ss->active, unused, ss->unused);
      bad++;
    }
  }
  hk_unlock(&g_pool_lock);
  hk_seg_census_t census;
  hk_seg_census(&census);
  bad += (int)census.mismatched_superslabs;
  return bad;
}

static bool counters_maintained(void) {
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) {
    if (class_ultra(c)) return false;
  }
  return true;
}

void hk_seg_census(hk_seg_census_t *out) {
  memset(out, 0, sizeof(*out));
  out->counters_maintained = counters_maintained();
  pool_lock();
  for (hk_superslab_t *ss = g_all; ss != NULL; ss = ss->all_next) {
    uint64_t sum = 0;
    for (unsigned i = 1; i < HK_SS_SLABS; i++) {
      const hk_slab_t *s = &ss->slabs[i];
      if (s->state != HK_SLAB_ACTIVE) continue;
      uint64_t u = class_counted_heap(s->cls) ? (uint64_t)(int64_t)s->live : s->used;
      out->used[s->cls] += u;
      sum += u;
    }
    uint64_t live = ss_live_blocks(ss);
    out->live_blocks += live;
    out->used_total += sum;
    if (out->counters_maintained) {
      uint64_t flushed = 0;
      for (unsigned i = 1; i < HK_SS_SLABS; i++) {
        if (ss->slabs[i].state == HK_SLAB_ACTIVE) flushed += ss->slabs[i].used;
      }
      if (flushed != live) {
        hk_report("check: SuperSlab %p live_blocks %lu but its slabs count %lu in use", (void *)ss,
                  (unsigned long)live, (unsigned long)flushed);
        out->mismatched_superslabs++;
      }
    }
  }
  hk_unlock(&g_pool_lock);
}

