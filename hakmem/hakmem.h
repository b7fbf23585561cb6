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
} hak_stats_t;

void hak_stats_get(hak_stats_t *out);

/* "hakmem 0.1.0 (x86_64, memops avx2)": version, architecture and the
 * memset/memcpy path chosen at run time. */
const char *hak_version(void);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_HAKMEM_H */
