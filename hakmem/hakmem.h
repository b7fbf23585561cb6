/* hakmem/hakmem.h — HAKMEM's public API.
 *
 * Programs linked with @hakmem//hakmem:malloc_shim, or running with
 * LD_PRELOAD=libhakmem.so, get HAKMEM through the standard malloc family;
 * this header adds the hak_* entry points, which work in every build (also
 * under ASan/TSan, where the sanitizer owns the malloc symbols), and
 * introspection. All functions are thread-safe and async-signal-unsafe like
 * malloc itself, except where noted. */
#ifndef HAKMEM_HAKMEM_H
#define HAKMEM_HAKMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HAKMEM_VERSION "0.1.0"

/* The malloc family under HAKMEM's own names (same contract as the C/POSIX
 * functions: errno = ENOMEM on failure, EINVAL for bad alignments). */
void *hak_malloc(size_t size);
void hak_free(void *p);
void *hak_calloc(size_t n, size_t size);
void *hak_realloc(void *p, size_t size);
void *hak_reallocarray(void *p, size_t n, size_t size);
int hak_posix_memalign(void **out, size_t alignment, size_t size);
void *hak_aligned_alloc(size_t alignment, size_t size);
void *hak_memalign(size_t alignment, size_t size);
size_t hak_usable_size(const void *p);
/* Returns free memory to the OS now; returns 1 if any memory was released. */
int hak_trim(size_t pad);

/* 1 if p points to the start of a block HAKMEM handed out and has not seen
 * freed (best effort for freed blocks), 0 otherwise. Never crashes on foreign
 * or garbage pointers. */
int hak_owns(const void *p);

/* Process-wide numbers, for programs, tests and benchmarks. Fields may be
 * added at the end; callers set .size = sizeof(hak_stats_t) first. */
typedef struct hak_stats {
  uint32_t size;                 /* in: sizeof(hak_stats_t) of the caller */
  uint32_t reserved;
  uint64_t superslabs_live;      /* 2 MiB SuperSlabs currently mapped */
  uint64_t superslabs_cached;    /* of those, fully empty ones kept in the LRU */
  uint64_t slabs_active;         /* 64 KiB slabs owned by a class */
  uint64_t large_live;           /* live large (> 32 KiB) allocations */
  uint64_t large_live_bytes;
  uint64_t large_cached_bytes;   /* freed large spans kept for reuse */
  uint64_t os_mmap_calls;
  uint64_t os_munmap_calls;
  uint64_t os_madvise_calls;
  uint64_t os_mapped_bytes;      /* address space currently mapped by HAKMEM */
  uint64_t os_purged_bytes;      /* total returned to the OS (purged or decommitted) */
  uint64_t threads_live;         /* threads with HAKMEM caches */
  uint64_t slabs_adopted;        /* slabs taken over from exited threads */
  uint64_t small_live_blocks;    /* blocks <= 32 KiB outside their slabs (with the program or
                                  * in thread caches), from the SuperSlab counters; see
                                  * hak_front_stats_t.counters_maintained */
} hak_stats_t;

void hak_stats_get(hak_stats_t *out);

/* ---- stats box: per-class counters of the fronts ------------------------- *
 * Off by default. HAKMEM_STATS=1 counts every operation; the C7_SAFE profile
 * counts the boundary events only (slow paths, fallbacks, failures, page
 * sources), which costs nothing on the fast paths. HAKMEM_STATS_DUMP=1
 * prints hak_stats_print()'s table on stderr at exit. */

#define HAK_STATS_CLASSES 26 /* C0..C7 tiny, C8..C25 mid */

enum { HAK_STATS_LEVEL_OFF = 0, HAK_STATS_LEVEL_BOUNDARY = 1, HAK_STATS_LEVEL_ALL = 2 };
enum { HAK_ROUTE_LIST = 0, HAK_ROUTE_HEAP = 1, HAK_ROUTE_L0 = 2, HAK_ROUTE_MID = 3 };

typedef struct hak_class_stats {
  uint32_t block_size;
  uint8_t route;          /* HAK_ROUTE_* */
  uint8_t meta_mode;      /* TinyHeap classes: 0 per-op, 1 SAFE, 2 ULTRA */
  uint16_t reserved;
  uint64_t fast;          /* mallocs served by the route's inline path (level ALL) */
  uint64_t slow;          /* mallocs that went to the segment box and got a block */
  uint64_t fallback;      /* mallocs served by the shared cache of exiting threads */
  uint64_t prepare_fail;  /* slow paths that could not prepare a page (OS out of memory) */
  uint64_t fail;          /* mallocs that returned NULL */
  uint64_t free_fast;     /* owner-side frees done inline (level ALL) */
  uint64_t free_slow;     /* owner-side frees through the slow path */
  uint64_t free_remote;   /* frees of blocks owned by another thread */
  /* Where the slow paths found blocks (pool hit/miss with reasons). */
  uint64_t src_page;      /* the thread's current or partial page */
  uint64_t src_remote;    /* remote frees drained from an owned page */
  uint64_t src_full_scan; /* a full page that got remote frees */
  uint64_t src_adopt;     /* pool: slab of an exited thread */
  uint64_t src_empty;     /* pool: EMPTY slab of the same class */
  uint64_t src_unused;    /* pool: UNUSED slot or EMPTY slab of another class */
  uint64_t src_new;       /* pool: new SuperSlab */
  uint64_t src_oom;       /* pool: nothing (OS out of memory) */
} hak_class_stats_t;

typedef struct hak_front_stats {
  uint32_t size;                 /* in: sizeof(hak_front_stats_t) of the caller */
  uint32_t level;                /* HAK_STATS_LEVEL_* */
  uint32_t profile;              /* 0 LEGACY, 1 C7_SAFE, 2 C7_ULTRA_BENCH, 3 CUSTOM */
  uint32_t counters_maintained;  /* 0 when a class runs meta mode ULTRA */
  uint32_t l0_enabled;           /* L0 magazine classes (bit mask) */
  uint32_t l0_counted;           /* HAKMEM_TINY_HEAP_V2_STATS=1 */
  hak_class_stats_t cls[HAK_STATS_CLASSES];
  uint64_t l0_hit[4];            /* mallocs served by the magazine */
  uint64_t l0_miss[4];           /* mallocs that found it empty */
  uint64_t l0_push[4];           /* frees the magazine took */
  uint64_t l0_pass[4];           /* frees it passed on to the TLS list */
} hak_front_stats_t;

/* Fills *out (set out->size first; fields beyond it are not written). Sums
 * the counters of exited threads and, without stopping them, of live ones. */
void hak_front_stats_get(hak_front_stats_t *out);

/* Writes the stats table to fd (the format HAKMEM_STATS_DUMP=1 prints at
 * exit: "hakmem-stats 1" then sections of whitespace-separated columns, each
 * introduced by "# <section>" and a header row). Allocates nothing. */
void hak_stats_print(int fd);

/* "hakmem 0.1.0 (x86_64, memops avx2)": version, architecture and the
 * memset/memcpy path chosen at run time. */
const char *hak_version(void);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_HAKMEM_H */
