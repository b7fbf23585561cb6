/* hakmem/alloc.c — thread caches, initialisation and the malloc family
 * (see alloc.h). */
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
#include "hakmem/front/front.h"
#include "hakmem/mid/mid.h"
#include "hakmem/policy/policy.h"
#include "hakmem/segment/segment.h"

/* ---- per-thread cache ------------------------------------------------- */

typedef struct hk_thread {
  hk_tiny_cache_t tiny; /* first: the fast paths index from here */
  hk_mid_cache_t mid;
  struct hk_thread *next_all, *prev_all;
  struct hk_thread *next_free;
} hk_thread_t;

/* The empty thread: every list empty and owner of nothing, so a thread's
 * first malloc and free fall into the slow path, which sets the thread up.
 * The fast paths never write to it. */
static hk_thread_t g_empty_thread;
/* Threads past their key destructor share this one, under g_late_lock. */
static hk_thread_t g_late_thread;
static hk_lock_t g_late_lock;

static HAK_TLS hk_thread_t *t_thread = &g_empty_thread;
static HAK_TLS bool t_exited;

static hk_lock_t g_threads_lock;
static hk_thread_t *g_threads;      /* live threads */
static hk_thread_t *g_thread_free;  /* recycled thread records */
static uint64_t g_threads_live;

static hk_lock_t g_init_lock;
static hk_atomic_u32 g_initialised;
static pthread_key_t g_thread_key;
static uint32_t g_drain_interval;

static void thread_exit(void *arg);
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

static void global_init(void) {
  if (HAK_LIKELY(hk_atomic_load_acquire(&g_initialised))) return;
  hk_lock(&g_init_lock);
  if (!hk_atomic_load_relaxed(&g_initialised)) {
    const hk_policy_t *pol = hk_policy_get();
    hk_seg_config_t seg = {.lru_max = (uint32_t)pol->ss_lru_max,
                           .dirty_empty_max = (uint32_t)pol->empty_slab_reserve};
    hk_seg_configure(&seg);
    hk_large_config_t large = {.cache_bytes = (size_t)pol->large_cache_bytes,
                               .purge_delay_ms = (uint32_t)pol->large_purge_delay_ms};
    hk_large_configure(&large);
    g_drain_interval = (uint32_t)pol->tiny_sll_drain_interval;
    if (pthread_key_create(&g_thread_key, thread_exit) != 0) {
      hk_fatal("initialisation: pthread_key_create failed: thread caches could not be returned");
    }
    hk_tiny_cache_init(&g_late_thread.tiny, g_drain_interval);
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
    /* Records come from the OS, a 64 KiB batch at a time. */
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

/* The calling thread's cache, creating it on first use. NULL means "use the
 * shared late cache" (thread already past its destructor, or no memory). */
static HAK_NOINLINE hk_thread_t *thread_get_slow(void) {
  global_init();
  /* global_init may have allocated (pthread_atfork keeps its handlers in
   * malloc'ed memory once there are many): that nested call already set this
   * thread up. */
  if (t_thread != &g_empty_thread) return t_thread;
  if (t_exited) return NULL;
  hk_thread_t *t = thread_record_new();
  if (t == NULL) return NULL;
  hk_tiny_cache_init(&t->tiny, g_drain_interval);
  t_thread = t;
  pthread_setspecific(g_thread_key, t);
  return t;
}

static void thread_exit(void *arg) {
  hk_thread_t *t = (hk_thread_t *)arg;
  t_thread = &g_empty_thread;
  t_exited = true;
  hk_tiny_cache_release(&t->tiny);
  hk_mid_cache_release(&t->mid);
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
   * caches stay counted as in use (bounded by the cache sizes). */
  hk_thread_t *self = t_thread;
  hk_thread_t *t = g_threads;
  while (t != NULL) {
    hk_thread_t *next = t->next_all;
    if (t != self) {
      for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) hk_seg_class_abandon_after_fork(&t->tiny.seg[c]);
      for (unsigned c = 0; c < HAK_MID_CLASSES; c++) hk_seg_class_abandon_after_fork(&t->mid.seg[c]);
      /* Unlinked but never reused: its address is an owner token, and a slab
       * the dead thread held outside its lists at fork time (mid-refill)
       * still carries it. A new thread must not inherit that slab. */
      thread_record_unlink_locked(t);
    }
    t = next;
  }
}

/* ---- malloc --------------------------------------------------------- */

static HAK_NOINLINE void *alloc_on(hk_thread_t *t, size_t size) {
  unsigned cls = hk_size_class(size);
  if (cls < HAK_TINY_CLASSES) return hk_tiny_alloc_slow(&t->tiny, cls, (uintptr_t)t);
  if (cls < HAK_SMALL_CLASSES) return hk_mid_alloc_slow(&t->mid, cls, (uintptr_t)t);
  bool zeroed;
  return hk_large_alloc(size, HAK_CACHE_LINE, &zeroed);
}

static HAK_NOINLINE void *malloc_slow(size_t size) {
  hk_thread_t *t = t_thread;
  if (t == &g_empty_thread) t = thread_get_slow();
  void *p;
  if (HAK_LIKELY(t != NULL)) {
    p = alloc_on(t, size);
  } else {
    hk_lock(&g_late_lock);
    p = alloc_on(&g_late_thread, size);
    hk_unlock(&g_late_lock);
  }
  if (HAK_UNLIKELY(p == NULL)) errno = ENOMEM;
  return p;
}

void *hk_api_malloc(size_t size) {
  if (HAK_LIKELY(size <= HAK_TINY_MAX)) {
    void *p = hk_tiny_alloc_fast(&t_thread->tiny, hk_tiny_class(size));
    if (HAK_LIKELY(p != NULL)) return p;
  } else if (size <= HAK_MID_MAX) {
    void *p = hk_mid_alloc_fast(&t_thread->mid, hk_mid_class(size));
    if (HAK_LIKELY(p != NULL)) return p;
  }
  return malloc_slow(size);
}

/* ---- free ------------------------------------------------------------------- */

static HAK_COLD HAK_NORETURN void invalid_free(const char *fn, const void *p, const char *what) {
  hk_fatal("%s(): %s %p", fn, what, p);
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

static void free_on(hk_thread_t *t, hk_slab_t *s, void *p) {
  if (s->cls < HAK_TINY_CLASSES) hk_tiny_free_slow(&t->tiny, s, p);
  else hk_mid_free_local(&t->mid, s, p);
}

/* Every free the fast paths do not finish. The slab is looked up again here
 * rather than passed in: keeping it live costs the tiny fast path a saved
 * register. */
static HAK_NOINLINE void free_slow(void *p) {
  if (p == NULL) return;
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s == NULL) {
    uintptr_t e = hk_region_entry(p);
    unsigned kind = (unsigned)(e & HK_REGION_KIND_MASK);
    if (kind == HK_REGION_LARGE || kind == HK_REGION_HUGE) {
      hk_large_free(p, e);
      return;
    }
    invalid_free("free", p, "invalid pointer (not allocated by HAKMEM)");
  }
  checked_slab("free", p, s);
  uintptr_t owner = hk_atomic_load_relaxed(&s->owner);
  hk_thread_t *t = t_thread;
  if (owner == (uintptr_t)t) {
    free_on(t, s, p);
  } else if (owner == (uintptr_t)&g_late_thread) {
    hk_lock(&g_late_lock);
    if (hk_atomic_load_relaxed(&s->owner) == (uintptr_t)&g_late_thread) free_on(&g_late_thread, s, p);
    else hk_seg_free_remote(s, p);
    hk_unlock(&g_late_lock);
  } else {
    hk_seg_free_remote(s, p);
  }
}

/* Owner-side mid free: the ring push, else the slow path. Kept out of line
 * (reached by a tail jump) so the tiny path of hk_api_free needs no frame. */
static HAK_NOINLINE void free_mid_owned(hk_thread_t *t, hk_slab_t *s, void *p) {
  if (HAK_LIKELY(hk_mid_free_fast(&t->mid, s, p))) return;
  free_slow(p);
}

void hk_api_free(void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (HAK_LIKELY(s != NULL)) {
    hk_thread_t *t = t_thread;
    if (HAK_LIKELY(hk_atomic_load_relaxed(&s->owner) == (uintptr_t)t)) {
      if (HAK_LIKELY(s->cls < HAK_TINY_CLASSES)) {
        if (HAK_LIKELY(hk_tiny_free_fast(&t->tiny, s, p))) return;
      } else {
        free_mid_owned(t, s, p);
        return;
      }
    }
  }
  free_slow(p);
}

/* ---- the rest of the family ------------------------------------------------ */

/* Usable size of a live block; fn names the caller in the diagnostic. */
static size_t usable_size_of(const char *fn, const void *p) {
  hk_slab_t *s = hk_seg_slab_of(p);
  if (s != NULL) return checked_slab(fn, p, s)->block_size;
  uintptr_t e = hk_region_entry(p);
  unsigned kind = (unsigned)(e & HK_REGION_KIND_MASK);
  if (kind == HK_REGION_LARGE || kind == HK_REGION_HUGE) {
    size_t n = hk_large_usable(p, e);
    if (n == 0) invalid_free(fn, p, "invalid pointer or freed block (large allocation)");
    return n;
  }
  invalid_free(fn, p, "invalid pointer (not allocated by HAKMEM)");
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

void *hk_api_realloc(void *p, size_t size) {
  if (p == NULL) return hk_api_malloc(size);
  if (size == 0) { /* glibc semantics: free and return NULL */
    hk_api_free(p);
    return NULL;
  }
  size_t usable = usable_size_of("realloc", p);
  if (size <= usable) {
    /* In place while the block stays in the class the new size maps to
     * (small) or wastes at most half of the span (large). */
    hk_slab_t *s = hk_seg_slab_of(p);
    if (s != NULL ? hk_size_class(size) == s->cls : size >= usable / 2) return p;
  }
  void *q = hk_api_malloc(size);
  if (q == NULL) return NULL; /* p is left untouched */
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
  hk_thread_t *t = t_thread;
  if (t != &g_empty_thread) {
    hk_tiny_flush(&t->tiny);
    hk_mid_flush(&t->mid);
  }
  size_t released = hk_seg_trim() + hk_large_trim();
  return released > 0;
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
  hk_lock(&g_threads_lock);
  st.threads_live = g_threads_live;
  hk_unlock(&g_threads_lock);
  if (size == 0 || size > sizeof(st)) size = sizeof(st);
  memcpy(out, &st, size);
  out->size = size;
}
