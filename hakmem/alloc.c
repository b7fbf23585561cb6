/* hakmem/alloc.c — thread records, initialisation, the slow halves of
 * malloc and free, and the rest of the malloc family (see alloc.h). */
#define _GNU_SOURCE
#include "hakmem/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/bits.h"
#include "hakmem/core/compiler.h"
#include "hakmem/core/lock.h"
#include "hakmem/core/memops.h"
#include "hakmem/core/os.h"
#include "hakmem/core/report.h"
#include "hakmem/core/size_class.h"
#include "hakmem/free_fast.h"
#include "hakmem/front/front.h"
#include "hakmem/front/l0.h"
#include "hakmem/large/large.h"
#include "hakmem/malloc_fast.h"
#include "hakmem/mid/mid.h"
#include "hakmem/policy/policy.h"
#include "hakmem/segment/segment.h"
#include "hakmem/stats/stats.h"
#include "hakmem/thread.h"

/* ---- per-thread record ------------------------------------------------ */

#define LEGACY_ROUTES                                                                         \
  {HK_ROUTE_LIST, HK_ROUTE_LIST, HK_ROUTE_LIST, HK_ROUTE_LIST, HK_ROUTE_LIST, HK_ROUTE_LIST,  \
   HK_ROUTE_LIST, HK_ROUTE_LIST, HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,   \
   HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,   \
   HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,  HK_ROUTE_MID,   \
   HK_ROUTE_MID,  HK_ROUTE_MID}
/* The empty thread: its pages have no free blocks, its mid stacks are empty and
 * it owns nothing, so a thread's first malloc and free fall into the slow
 * paths, which set the thread up. The fast paths never write to it. */
hk_thread_t hk_empty_thread = {.tiny = {.page = {[0 ... HK_TINY_GRANULES - 1] = &hk_tiny_no_page}},
                               .route = LEGACY_ROUTES,
                               .token = ~(uintptr_t)0};
/* Threads past their key destructor share this one, under g_late_lock. */
static hk_thread_t g_late_thread;
static hk_lock_t g_late_lock;

HAK_TLS hk_thread_t *hk_t_thread = &hk_empty_thread;
static HAK_TLS bool t_exited;

static hk_lock_t g_threads_lock;
static hk_thread_t *g_threads;      /* live threads */
static hk_thread_t *g_thread_free;  /* recycled thread records */
static uint64_t g_threads_live;

static hk_lock_t g_init_lock;
static hk_atomic_u32 g_initialised;
static pthread_key_t g_thread_key;

/* The class -> route table and what follows from it, fixed at
 * initialisation from the policy snapshot (written before g_initialised is
 * released; every thread copies route and owner tags into its record). */
static uint8_t g_route[HAK_SMALL_CLASSES] = LEGACY_ROUTES;
static uint8_t g_tag[HAK_SMALL_CLASSES];  /* HK_TAG_* of each class */
static uint8_t g_meta[HAK_TINY_CLASSES];  /* meta mode of each tiny class */
static uint8_t g_fast[HAK_TINY_CLASSES];  /* tiny class on the fast route */
static uint8_t g_stats_level;             /* HK_STATS_* */
static uint8_t g_l0_counted;
/* Checked mode (HAKMEM_CHECK=1): small blocks carry a live bit (segment box);
 * every operation takes the slow (counted) routes and checks it. */
static uint8_t g_checked;
static uint8_t g_l0_leftover;
static uint8_t g_stats_dump;

/* token: the thread's owner token (the late record: its own address). */
static void thread_cache_init(hk_thread_t *t, uintptr_t token) {
  if (token & HK_OWNER_TAG_MASK) hk_fatal("initialisation: thread pointer %p is not 16-byte aligned", (void *)token);
  memcpy(t->route, g_route, sizeof(t->route));
  t->token = token;
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) t->own[c] = token | g_tag[c];
  hk_tiny_init(&t->tiny, g_meta, g_fast);
  t->l0.leftover = g_l0_leftover;
  hk_mid_cache_init(&t->mid);
}

static void thread_exit(void *arg);
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

/* The tags follow from the routes: the fast routes are the plain page route
 * (LIST, and HEAP in meta modes SAFE and ULTRA: the same pages, synced at
 * page boundaries) and the plain mid route. */
static void routes_init(const hk_policy_t *pol) {
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    unsigned r = pol->route[c];
    unsigned base = r & HK_ROUTE_BASE_MASK;
    g_route[c] = (uint8_t)r;
    if (c < HAK_TINY_CLASSES) {
      bool heap = base == HK_ROUTE_HEAP;
      g_meta[c] = heap ? pol->meta_mode[c] : HK_META_SAFE;
      g_fast[c] = r == HK_ROUTE_LIST || (r == HK_ROUTE_HEAP && g_meta[c] != HK_META_PER_OP);
      g_tag[c] = g_fast[c] ? HK_TAG_TINY : r == HK_ROUTE_L0 ? HK_TAG_L0 : HK_TAG_SLOW;
    } else {
      g_tag[c] = r == HK_ROUTE_MID ? HK_TAG_MID : HK_TAG_SLOW;
    }
  }
}

static void global_init(void) {
  if (HAK_LIKELY(hk_atomic_load_acquire(&g_initialised))) return;
  hk_lock(&g_init_lock);
  if (!hk_atomic_load_relaxed(&g_initialised)) {
    const hk_policy_t *pol = hk_policy_get();
    routes_init(pol);
    hk_seg_config_t seg = {.lru_max = (uint32_t)pol->ss_lru_max,
                           .dirty_empty_max = (uint32_t)pol->empty_slab_reserve,
                           .count_sources = pol->stats_level >= HK_STATS_BOUNDARY,
                           .checked = (uint8_t)pol->check};
    /* Every tiny class lives on pages (the tiny front); the mid classes on
     * slabs refilled in batches (the mid stacks). */
    for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) {
      seg.page_counted[c] = 1;
      seg.ss_uncounted[c] = g_meta[c] == HK_META_ULTRA;
    }
    hk_seg_configure(&seg);
    g_stats_level = pol->stats_level;
    g_l0_counted = pol->l0_stats;
    g_checked = (uint8_t)pol->check;
    g_l0_leftover = (uint8_t)pol->tiny_heap_v2_leftover;
    g_stats_dump = (uint8_t)pol->stats_dump;
    hk_large_config_t large = {.cache_bytes = (size_t)pol->large_cache_bytes,
                               .purge_delay_ms = (uint32_t)pol->large_purge_delay_ms};
    hk_large_configure(&large);
    if (pthread_key_create(&g_thread_key, thread_exit) != 0) {
      hk_fatal("initialisation: pthread_key_create failed: thread caches could not be returned");
    }
    thread_cache_init(&g_late_thread, (uintptr_t)&g_late_thread);
    hk_atomic_store_release(&g_initialised, 1u);
    hk_unlock(&g_init_lock);
    /* May allocate (glibc keeps handlers in a list): after the flag is set,
     * so that allocation takes the normal path. */
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    return;
  }
  hk_unlock(&g_init_lock);
}

static hk_thread_t *thread_record_new(void) {
  hk_lock(&g_threads_lock);
  hk_thread_t *t = g_thread_free;
  if (t != NULL) {
    g_thread_free = t->next_free;
  } else {
    /* Records come from the OS, a 64 KiB batch at a time (64-byte aligned:
     * the owner tags live in the low bits of their addresses). */
    void *mem;
    size_t batch = hk_bits_align_up(sizeof(hk_thread_t), HAK_CACHE_LINE);
    if (hk_os_reserve_aligned(HAK_SLAB_SIZE, hk_os_page_size(), true, &mem) == 0) {
      size_t n = HAK_SLAB_SIZE / batch;
      for (size_t i = 1; i < n; i++) {
        hk_thread_t *r = (hk_thread_t *)((char *)mem + i * batch);
        r->next_free = g_thread_free;
        g_thread_free = r;
      }
      t = (hk_thread_t *)mem;
    }
  }
  if (t != NULL) {
    memset(t, 0, sizeof(*t));
    t->next_all = g_threads;
    if (g_threads) g_threads->prev_all = t;
    g_threads = t;
    g_threads_live++;
  }
  hk_unlock(&g_threads_lock);
  return t;
}

static void thread_record_unlink_locked(hk_thread_t *t) {
  if (t->prev_all) t->prev_all->next_all = t->next_all;
  else g_threads = t->next_all;
  if (t->next_all) t->next_all->prev_all = t->prev_all;
  g_threads_live--;
}

static void thread_record_free_locked(hk_thread_t *t) {
  thread_record_unlink_locked(t);
  t->next_free = g_thread_free;
  g_thread_free = t;
}

/* The calling thread's record, creating it on first use. NULL means "use the
 * shared late record" (thread already past its destructor, or no memory). */
static HAK_NOINLINE hk_thread_t *thread_get_slow(void) {
  global_init();
  /* global_init may have allocated (pthread_atfork keeps its handlers in
   * malloc'ed memory once there are many): that nested call already set this
   * thread up. */
  if (hk_t_thread != &hk_empty_thread) return hk_t_thread;
  if (t_exited) return NULL;
  hk_thread_t *t = thread_record_new();
  if (t == NULL) return NULL;
  thread_cache_init(t, hk_thread_token());
  hk_t_thread = t;
  pthread_setspecific(g_thread_key, t);
  return t;
}

static void thread_exit(void *arg) {
  hk_thread_t *t = (hk_thread_t *)arg;
  hk_t_thread = &hk_empty_thread;
  t_exited = true;
  hk_seg_batch_flush(&t->remote);
  hk_l0_flush(&t->l0, &t->tiny);
  hk_tiny_release(&t->tiny);
  hk_mid_cache_release(&t->mid);
  hk_stats_retire(&t->stats);
  hk_lock(&g_threads_lock);
  thread_record_free_locked(t);
  hk_unlock(&g_threads_lock);
}

/* ---- fork ------------------------------------------------------------------ */

static void fork_prepare(void) {
  hk_lock(&g_init_lock);
  hk_lock(&g_threads_lock);
  hk_lock(&g_late_lock);
  hk_large_fork_prepare();
  hk_seg_fork_prepare();
}

static void fork_parent(void) {
  hk_seg_fork_parent();
  hk_large_fork_parent();
  hk_unlock(&g_late_lock);
  hk_unlock(&g_threads_lock);
  hk_unlock(&g_init_lock);
}

static void fork_child(void) {
  hk_seg_fork_child();
  hk_large_fork_child();
  hk_lock_reset(&g_late_lock);
  hk_lock_reset(&g_threads_lock);
  hk_lock_reset(&g_init_lock);
  /* Only the forking thread lives on: the other threads' slabs become
   * abandoned so that the child can adopt them. Blocks that sat in their
   * mid stacks and magazines stay counted as in use (bounded by their sizes). */
  hk_thread_t *self = hk_t_thread;
  hk_thread_t *t = g_threads;
  while (t != NULL) {
    hk_thread_t *next = t->next_all;
    if (t != self) {
      hk_seg_batch_flush(&t->remote); /* its pending remote frees are the child's too */
      hk_tiny_abandon_after_fork(&t->tiny);
      for (unsigned c = 0; c < HAK_MID_CLASSES; c++) hk_seg_class_abandon_after_fork(&t->mid.seg[c]);
      /* Unlinked and never reused (its slabs' states are unknown). */
      thread_record_unlink_locked(t);
      hk_stats_retire(&t->stats);
    }
    t = next;
  }
  hk_seg_fork_child_disown(self->token, g_late_thread.token);
}

/* ---- malloc: the slow half --------------------------------------------- */

HAK_INLINE bool counting(unsigned level) { return HAK_UNLIKELY(g_stats_level >= level); }

/* Checked mode: p (from any allocation path) goes to the program now. A bit
 * already set means the allocator handed out a block the program holds: a
 * free list was corrupted (typically by a write after free). */
static void checked_alloc(void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s != NULL && hk_seg_block_set_live(s, p)) {
    hk_fatal("malloc(): heap corruption: block %p (block size %u) handed out while the program "
             "still holds it (a free list was overwritten, e.g. by a write after free)",
             p, s->block_size);
  }
}

/* A small class's malloc that the fast path did not finish, on thread t
 * (the caller's, or the late record under its lock). *event: HK_ST_FAST
 * when a counted route served it without a refill, else HK_ST_SLOW. */
static void *alloc_small(hk_thread_t *t, unsigned cls, unsigned *event) {
  uintptr_t owner = t->own[cls];
  unsigned r = t->route[cls] & HK_ROUTE_BASE_MASK;
  void *p;
  *event = HK_ST_SLOW;
  if (cls >= HAK_TINY_CLASSES) {
    p = hk_mid_alloc_fast(&t->mid, cls);
    if (p != NULL) *event = HK_ST_FAST;
    else p = hk_mid_alloc_slow(&t->mid, cls, owner);
    return p;
  }
  if (r == HK_ROUTE_L0) {
    p = hk_l0_pop(&t->l0, cls);
    if (g_l0_counted) hk_stat_inc(&t->stats.l0[cls][p != NULL ? HK_L0_HIT : HK_L0_MISS]);
    if (p != NULL) {
      *event = HK_ST_FAST;
      return p;
    }
  }
  hk_slab_t *s = t->tiny.seg[cls].current;
  if (s != NULL && s->free != NULL) *event = HK_ST_FAST;
  p = hk_tiny_alloc_slow(&t->tiny, cls, owner);
  /* Leftover supply: the magazine takes blocks of the page malloc used. */
  if (r == HK_ROUTE_L0 && p != NULL && t->l0.leftover) hk_l0_fill(&t->l0, &t->tiny, cls);
  return p;
}

static void *alloc_on(hk_thread_t *t, size_t size, unsigned cls, unsigned *event) {
  if (cls < HAK_SMALL_CLASSES) return alloc_small(t, cls, event);
  bool zeroed;
  *event = HK_ST_SLOW;
  return hk_large_alloc(size, HAK_CACHE_LINE, &zeroed);
}

static void count_malloc(hk_thread_t *t, unsigned cls, unsigned event, bool ok) {
  if (cls >= HAK_SMALL_CLASSES || !counting(HK_STATS_BOUNDARY)) return;
  if (!ok) {
    if (event != HK_ST_FALLBACK) hk_stat_inc(&t->stats.cls[cls][HK_ST_PREPARE_FAIL]);
    hk_stat_inc(&t->stats.cls[cls][HK_ST_FAIL]);
  } else if (event != HK_ST_FAST || counting(HK_STATS_ALL)) {
    hk_stat_inc(&t->stats.cls[cls][event]);
  }
}

void *hk_malloc_slow(size_t size) {
  hk_thread_t *t = hk_t_thread;
  /* An uncounted L0 class: the magazine first. */
  if (size - 1 < HAK_TINY_MAX) {
    unsigned cls = hk_tiny_class(size);
    if (t->route[cls] == HK_ROUTE_L0) {
      void *p = hk_l0_pop(&t->l0, cls);
      if (p != NULL) return p;
    }
  }
  if (t == &hk_empty_thread) t = thread_get_slow();
  unsigned cls = hk_size_class(size);
  unsigned event;
  void *p;
  if (HAK_LIKELY(t != NULL)) {
    if (t->remote.slab != NULL) hk_seg_batch_flush(&t->remote);
    p = alloc_on(t, size, cls, &event);
    count_malloc(t, cls, event, p != NULL);
  } else {
    t = &g_late_thread;
    hk_lock(&g_late_lock);
    p = alloc_on(t, size, cls, &event);
    count_malloc(t, cls, HK_ST_FALLBACK, p != NULL);
    hk_unlock(&g_late_lock);
  }
  if (HAK_UNLIKELY(p == NULL)) {
    errno = ENOMEM;
    return NULL;
  }
  if (HAK_UNLIKELY(g_checked)) checked_alloc(p);
  return p;
}

void *hk_api_malloc(size_t size) { return hk_malloc_fast(size); }

/* ---- free: the slow half ------------------------------------------------------ */

static HAK_COLD HAK_NORETURN void invalid_free(const char *fn, const void *p, const char *what) {
  hk_fatal("%s(): %s %p", fn, what, p);
}

/* p is in no live HAKMEM region (registry entry e): memory HAKMEM has
 * released (a tombstone: the block was freed before) or a foreign pointer. */
static HAK_COLD HAK_NORETURN void not_ours(const char *fn, const void *p, uintptr_t e) {
  unsigned kind = hk_region_released_kind(p, e);
  if (kind != 0) {
    hk_fatal("%s(): pointer %p into a %s HAKMEM has already unmapped (double free or use after free)",
             fn, p,
             kind == HK_REGION_HUGE    ? "huge allocation"
             : kind == HK_REGION_LARGE ? "large-allocation segment"
                                       : "SuperSlab");
  }
  invalid_free(fn, p, "invalid pointer (not allocated by HAKMEM)");
}

/* Checked mode: the program gives back block p of slab s; its live bit must
 * be set (else the block was freed before: a double free). */
static void checked_free(const char *fn, const hk_slab_t *s, const void *p) {
  if (!hk_seg_block_clear_live(s, p)) {
    hk_fatal("%s(): double free of %p (%s block size %u, checked mode: the block is already free)", fn,
             p, s->cls < HAK_TINY_CLASSES ? "tiny" : "mid", s->block_size);
  }
}

/* The slab of a pointer that must be a live small block; aborts with a
 * diagnostic otherwise. */
static hk_slab_t *checked_slab(const char *fn, const void *p, hk_slab_t *s) {
  if (s->state != HK_SLAB_ACTIVE) {
    invalid_free(fn, p, s->index == 0 ? "invalid pointer (inside a HAKMEM SuperSlab header)"
                                      : "pointer into a free slab (double free or invalid pointer)");
  }
  long idx = hk_slab_block_index(s, p);
  if (idx < 0) {
    hk_fatal("%s(): misaligned pointer into a block %p (block size %u, slab %p)", fn, p,
             s->block_size, (void *)hk_slab_base(s));
  }
  if ((uint32_t)idx >= hk_slab_carved(s)) invalid_free(fn, p, "pointer to a block never allocated");
  return s;
}

/* Owner-side free of a checked block start p of slab s on thread t, by the
 * class's route; counts it for the stats box. */
static void free_on(hk_thread_t *t, hk_slab_t *s, void *p) {
  unsigned cls = s->cls;
  unsigned event = HK_ST_FREE_FAST;
  if (cls >= HAK_TINY_CLASSES) {
    if (!hk_mid_free_fast(s, p)) {
      hk_mid_free_local(&t->mid, s, p);
      event = HK_ST_FREE_SLOW;
    }
  } else if ((t->route[cls] & HK_ROUTE_BASE_MASK) == HK_ROUTE_L0) {
    if (hk_l0_is_top(&t->l0, cls, p)) {
      hk_fatal("free(): double free of %p (tiny block size %u, L0 magazine)", p, s->block_size);
    }
    bool to_mag = !t->l0.leftover && (hk_block_t *)p != s->free && hk_l0_push(&t->l0, cls, p);
    if (g_l0_counted) hk_stat_inc(&t->stats.l0[cls][to_mag ? HK_L0_PUSH : HK_L0_PASS]);
    if (!to_mag) {
      if (s->live <= 1) event = HK_ST_FREE_SLOW;
      hk_tiny_free_local(&t->tiny, s, p);
    }
  } else {
    if (s->live <= 1) event = HK_ST_FREE_SLOW; /* the page empties: a boundary */
    hk_tiny_free_local(&t->tiny, s, p);
  }
  if (event == HK_ST_FREE_SLOW ? counting(HK_STATS_BOUNDARY) : counting(HK_STATS_ALL)) {
    hk_stat_inc(&t->stats.cls[cls][event]);
  }
}

static void count_remote(unsigned cls) {
  if (!counting(HK_STATS_BOUNDARY)) return;
  hk_thread_t *t = hk_t_thread;
  /* A thread that only frees has no record (and no counters) of its own. */
  if (t != &hk_empty_thread) hk_stat_inc(&t->stats.cls[cls][HK_ST_FREE_REMOTE]);
  else hk_stats_count_shared(cls, HK_ST_FREE_REMOTE);
}

void hk_free_slow(void *p) {
  if (p == NULL) return;
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s == NULL) {
    uintptr_t e = hk_region_entry(p);
    unsigned kind = (unsigned)(e & HK_REGION_KIND_MASK);
    if (kind == HK_REGION_LARGE || kind == HK_REGION_HUGE) {
      hk_large_free(p, e);
      return;
    }
    not_ours("free", p, e);
  }
  hk_free_slab(s, p);
}

void hk_free_slab(hk_slab_t *s, void *p) {
  /* The page map's answer for a pointer above 2^48 may be an aliased
   * granule's slab: the exact lookup decides. */
  if (HAK_UNLIKELY((uintptr_t)p - (uintptr_t)hk_slab_base(s) >= HAK_SLAB_SIZE)) {
    hk_free_slow(p);
    return;
  }
  checked_slab("free", p, s);
  if (g_checked) checked_free("free", s, p);
  uintptr_t owner = hk_owner_token(hk_atomic_load_relaxed(&s->owner));
  hk_thread_t *t = hk_t_thread;
  if (owner == t->token) {
    free_on(t, s, p);
  } else if (owner == (uintptr_t)&g_late_thread) {
    hk_lock(&g_late_lock);
    if (hk_owner_token(hk_atomic_load_relaxed(&s->owner)) == (uintptr_t)&g_late_thread) {
      free_on(&g_late_thread, s, p);
    } else {
      hk_seg_free_remote(s, p);
    }
    hk_unlock(&g_late_lock);
  } else {
    /* Another thread's slab (or nobody's): into the thread's batch (a
     * thread that only frees gets its record here). Without a record, a
     * direct push, after which not a byte of s is read: the owner may
     * drain, empty and release the slab at once. */
    unsigned cls = s->cls;
    if (t == &hk_empty_thread) t = thread_get_slow();
    if (HAK_LIKELY(t != NULL)) hk_seg_batch_free(&t->remote, s, p);
    else hk_seg_free_remote(s, p);
    count_remote(cls);
  }
}

void hk_api_free(void *p) { hk_free_fast(p); }

/* ---- the rest of the family ------------------------------------------------ */

/* Usable size of a live block; fn names the caller in the diagnostic. */
static size_t usable_size_of(const char *fn, const void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s != NULL) {
    checked_slab(fn, p, s);
    if (g_checked && !hk_seg_block_is_live(s, p)) {
      hk_fatal("%s(): pointer %p to a freed block (%s block size %u, checked mode: use after free or "
               "double free)",
               fn, p, s->cls < HAK_TINY_CLASSES ? "tiny" : "mid", s->block_size);
    }
    return s->block_size;
  }
  uintptr_t e = hk_region_entry(p);
  unsigned kind = (unsigned)(e & HK_REGION_KIND_MASK);
  if (kind == HK_REGION_LARGE || kind == HK_REGION_HUGE) {
    size_t n = hk_large_usable(p, e);
    if (n == 0) hk_fatal("%s(): invalid pointer or freed block %p (large allocation)", fn, p);
    return n;
  }
  not_ours(fn, p, e);
}

size_t hk_api_usable_size(const void *p) {
  return p == NULL ? 0 : usable_size_of("malloc_usable_size", p);
}

int hk_api_owns(const void *p) {
  if (p == NULL) return 0;
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s != NULL) {
    long idx = s->state == HK_SLAB_ACTIVE ? hk_slab_block_index(s, p) : -1;
    return idx >= 0 && (uint32_t)idx < hk_slab_carved(s);
  }
  uintptr_t e = hk_region_entry(p);
  unsigned kind = (unsigned)(e & HK_REGION_KIND_MASK);
  return (kind == HK_REGION_LARGE || kind == HK_REGION_HUGE) && hk_large_owns(p, e);
}

void *hk_api_calloc(size_t n, size_t size) {
  size_t total;
  if (HAK_UNLIKELY(__builtin_mul_overflow(n, size, &total))) {
    errno = ENOMEM;
    return NULL;
  }
  if (total > HAK_MID_MAX) {
    bool zeroed;
    global_init(); /* may be the process's first call: apply the policy */
    void *p = hk_large_alloc(total, HAK_CACHE_LINE, &zeroed);
    if (p == NULL) errno = ENOMEM;
    else if (!zeroed) hk_memzero(p, total);
    return p;
  }
  void *p = hk_api_malloc(total);
  if (p != NULL) hk_memzero(p, total);
  return p;
}

/* Aligned allocation: tiny blocks are aligned to their power-of-two size and
 * mid blocks to 128 B, so most requests are plain mallocs of a suitable size;
 * larger alignments come from page spans. */
static void *alloc_aligned(size_t alignment, size_t size) {
  /* A request smaller than its alignment takes the class of the alignment
   * (C0 blocks are only 8-aligned: aligned_alloc(16, 8) needs C1). */
  if (alignment <= 16) return hk_api_malloc(size < alignment ? alignment : size);
  if (size <= HAK_TINY_MAX && alignment <= HAK_TINY_MAX) {
    return hk_api_malloc(size > alignment ? size : alignment);
  }
  if (size > HAK_TINY_MAX && size <= HAK_MID_MAX && alignment <= 128) return hk_api_malloc(size);
  bool zeroed;
  global_init(); /* may be the process's first call: apply the policy */
  void *p = hk_large_alloc(size ? size : 1, alignment, &zeroed);
  if (p == NULL) errno = ENOMEM;
  return p;
}

int hk_api_posix_memalign(void **out, size_t alignment, size_t size) {
  if (!hk_bits_is_pow2(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
  int saved = errno;
  void *p = alloc_aligned(alignment, size);
  errno = saved;
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

void *hk_api_aligned_alloc(size_t alignment, size_t size) {
  if (!hk_bits_is_pow2(alignment)) {
    errno = EINVAL;
    return NULL;
  }
  return alloc_aligned(alignment, size);
}

void *hk_api_memalign(size_t alignment, size_t size) {
  /* glibc: alignments that are not powers of two are rounded up. */
  if (alignment > ((size_t)1 << (HAK_SIZE_BITS - 2))) {
    errno = EINVAL;
    return NULL;
  }
  if (!hk_bits_is_pow2(alignment)) alignment = (size_t)1 << hk_bits_log2_ceil(alignment);
  return alloc_aligned(alignment, size);
}

void *hk_api_valloc(size_t size) { return alloc_aligned(hk_os_page_size(), size); }

void *hk_api_pvalloc(size_t size) {
  size_t page = hk_os_page_size();
  if (size > SIZE_MAX - page) {
    errno = ENOMEM;
    return NULL;
  }
  return alloc_aligned(page, size ? hk_bits_align_up(size, page) : page);
}

/* The cheap release-mode test for a small block the calling thread freed
 * last: it is on top of the thread's cache for its class (the same test the
 * free paths make for an immediate double free). */
static bool just_freed(const hk_slab_t *s, const void *p) {
  hk_thread_t *t = hk_t_thread;
  if (hk_owner_token(hk_atomic_load_relaxed(&s->owner)) != t->token) return false;
  unsigned cls = s->cls;
  if (cls >= HAK_TINY_CLASSES) {
    return hk_mid_is_top(&t->mid, cls, p);
  }
  if ((t->route[cls] & HK_ROUTE_BASE_MASK) == HK_ROUTE_L0 && hk_l0_is_top(&t->l0, cls, p)) return true;
  return (const hk_block_t *)p == s->free;
}

static HAK_COLD HAK_NORETURN void realloc_of_freed(const void *p) {
  hk_fatal("realloc(): pointer %p to a freed block (use after free)", p);
}

void *hk_api_realloc(void *p, size_t size) {
  if (p == NULL) return hk_api_malloc(size);
  if (size == 0) { /* glibc semantics: free and return NULL */
    hk_api_free(p);
    return NULL;
  }
  size_t usable = usable_size_of("realloc", p);
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s != NULL && just_freed(s, p)) realloc_of_freed(p);
  if (size <= usable) {
    /* In place while the block stays in the class the new size maps to
     * (small) or wastes at most half of the span (large). */
    if (s != NULL ? hk_size_class(size) == s->cls : size >= usable / 2) return p;
  }
  if (s == NULL) { /* large: in place, or moved inside the large box */
    void *q = hk_large_realloc(p, hk_region_entry(p), size);
    if (q != NULL) return q;
  }
  void *q = hk_api_malloc(size);
  if (q == NULL) return NULL; /* p is left untouched */
  /* Only a free block can be handed out: p was freed before this call. */
  if (HAK_UNLIKELY(q == p)) realloc_of_freed(p);
  hk_memcpy(q, p, size < usable ? size : usable);
  hk_api_free(p);
  return q;
}

void *hk_api_reallocarray(void *p, size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return hk_api_realloc(p, total);
}

int hk_api_trim(size_t pad) {
  (void)pad;
  hk_thread_t *t = hk_t_thread;
  if (t != &hk_empty_thread) {
    hk_seg_batch_flush(&t->remote);
    hk_l0_flush(&t->l0, &t->tiny);
    hk_tiny_sync(&t->tiny);
    hk_mid_flush(&t->mid);
  }
  size_t released = hk_seg_trim() + hk_large_trim();
  return released > 0;
}

void hk_api_remote_batched(uint64_t *out) {
  hk_lock(&g_threads_lock);
  for (hk_thread_t *t = g_threads; t != NULL; t = t->next_all) {
    const hk_slab_t *s = t->remote.slab;
    if (s != NULL) out[s->cls] += t->remote.n;
  }
  hk_unlock(&g_threads_lock);
}

void hk_api_stats(hak_stats_t *out) {
  uint32_t size = out->size;
  hak_stats_t st;
  memset(&st, 0, sizeof(st));
  st.size = (uint32_t)sizeof(st);
  hk_seg_stats_t seg;
  hk_seg_stats_get(&seg);
  st.superslabs_live = seg.superslabs_live;
  st.superslabs_cached = seg.superslabs_cached;
  st.slabs_active = seg.slabs_active;
  st.slabs_adopted = seg.slabs_adopted;
  hk_large_stats_t large;
  hk_large_stats_get(&large);
  st.large_live = large.live;
  st.large_live_bytes = large.live_bytes;
  st.large_cached_bytes = large.cached_bytes;
  hk_os_stats_t os;
  hk_os_stats_get(&os);
  st.os_mmap_calls = os.mmap_calls;
  st.os_munmap_calls = os.munmap_calls;
  st.os_madvise_calls = os.madvise_calls;
  st.os_mapped_bytes = os.mapped_bytes;
  st.os_purged_bytes = os.purged_bytes;
  st.small_live_blocks = hk_seg_live_blocks();
  hk_lock(&g_threads_lock);
  st.threads_live = g_threads_live;
  hk_unlock(&g_threads_lock);
  if (size == 0 || size > sizeof(st)) size = sizeof(st);
  memcpy(out, &st, size);
  out->size = size;
}

/* ---- stats box ---------------------------------------------------------------- */

void hk_api_front_stats(hak_front_stats_t *out) {
  global_init(); /* may be the process's first call: report the configuration in force */
  uint32_t size = out->size;
  hak_front_stats_t st;
  memset(&st, 0, sizeof(st));
  st.size = (uint32_t)sizeof(st);
  const hk_policy_t *pol = hk_policy_get();
  st.level = g_stats_level;
  st.profile = (uint32_t)pol->tiny_heap_profile;
  st.counters_maintained = 1;
  st.l0_enabled = pol->l0_mask;
  st.l0_counted = g_l0_counted;
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    hak_class_stats_t *k = &st.cls[c];
    k->block_size = hk_class_size[c];
    k->route = (uint8_t)(pol->route[c] & HK_ROUTE_BASE_MASK);
    if (c < HAK_TINY_CLASSES && k->route == HK_ROUTE_HEAP) {
      k->meta_mode = g_meta[c];
      if (g_meta[c] == HK_META_ULTRA) st.counters_maintained = 0;
    }
    uint64_t src[HK_SRC_COUNT] = {0};
    hk_seg_source_counts(c, src);
    k->src_page = src[HK_SRC_PAGE];
    k->src_remote = src[HK_SRC_REMOTE];
    k->src_full_scan = src[HK_SRC_FULL_SCAN];
    k->src_adopt = src[HK_SRC_ADOPT];
    k->src_empty = src[HK_SRC_EMPTY];
    k->src_unused = src[HK_SRC_UNUSED];
    k->src_new = src[HK_SRC_NEW];
    k->src_oom = src[HK_SRC_OOM];
  }
  hk_stats_accumulate(&st, NULL);
  hk_lock(&g_threads_lock);
  for (hk_thread_t *t = g_threads; t != NULL; t = t->next_all) hk_stats_accumulate(&st, &t->stats);
  hk_unlock(&g_threads_lock);
  hk_lock(&g_late_lock);
  hk_stats_accumulate(&st, &g_late_thread.stats);
  hk_unlock(&g_late_lock);
  if (size == 0 || size > sizeof(st)) size = sizeof(st);
  memcpy(out, &st, size);
  out->size = size;
}

void hk_api_stats_print(int fd) {
  hak_front_stats_t f;
  f.size = sizeof(f);
  hk_api_front_stats(&f);
  hak_stats_t g;
  g.size = sizeof(g);
  hk_api_stats(&g);
  hk_stats_write(fd, &f, &g);
}

/* HAKMEM_STATS_DUMP=1: the table on stderr when the process exits (or the
 * library is unloaded). Only if HAKMEM was ever initialised. */
__attribute__((destructor)) static void stats_dump_at_exit(void) {
  if (hk_atomic_load_acquire(&g_initialised) && g_stats_dump) hk_api_stats_print(2);
}
