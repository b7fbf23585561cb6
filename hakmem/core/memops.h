/* hakmem/core/memops.h — byte fill and copy for the allocator, with run-time
 * dispatch between implementations.
 *
 * Owns: hk_memset / hk_memzero / hk_memcpy (calloc zeroing, realloc copying),
 * their implementation paths (portable C "generic" on every target, AVX2 on
 * x86-64 CPUs whose OS enabled YMM state, NEON on aarch64), the CPU feature
 * detection that picks a path, and forcing a path for tests and benchmarks.
 * The generic path is HAKMEM's own code: it never calls libc's memset/memcpy.
 *
 * Contract:
 *   - same results as libc memset/memcpy; memset uses only the low byte of c;
 *     hk_memcpy's ranges must not overlap (there is no memmove: realloc copies
 *     into a fresh block). n == 0 touches nothing.
 *   - dispatch works before main() and while the dynamic loader is running:
 *     the active path is an atomic pointer to a constant table that starts at
 *     a resolver, which picks the path on the first call. Nothing here
 *     allocates, locks, logs or makes a system call; every function is
 *     thread-safe and async-signal-safe.
 *   - no non-temporal stores: what calloc zeroes and realloc copies is used
 *     right after, so it should stay in cache.
 * Boundary: knows nothing of blocks, classes or segments; the boxes decide what
 * to zero or copy (e.g. calloc skips fresh OS memory, which is already zero). */
#ifndef HAKMEM_CORE_MEMOPS_H
#define HAKMEM_CORE_MEMOPS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void hk_memset(void *dst, int c, size_t n);
void hk_memzero(void *dst, size_t n);
/* dst and src must not overlap. */
void hk_memcpy(void *dst, const void *src, size_t n);

typedef enum hk_memops_path {
  HK_MEMOPS_AUTO = 0, /* the best supported path for this CPU */
  HK_MEMOPS_GENERIC,  /* portable C, 8-byte words; every target */
  HK_MEMOPS_AVX2,     /* x86-64: 32-byte AVX2 vectors */
  HK_MEMOPS_NEON,     /* aarch64: 16-byte NEON vectors */
} hk_memops_path;

#define HAK_MEMOPS_PATH_COUNT 4

/* Whether path can run on this CPU and architecture (AUTO and GENERIC: always;
 * values outside the enum: false). */
bool hk_memops_supported(hk_memops_path path);

/* Makes path the one hk_memset/hk_memzero/hk_memcpy use from now on, for all
 * threads. Returns 0, or EINVAL (active path unchanged) if path is not
 * supported here. HK_MEMOPS_AUTO restores the automatic choice. */
int hk_memops_force(hk_memops_path path);

/* The path in use (never HK_MEMOPS_AUTO: resolves the automatic choice first
 * if no call has done so yet). */
hk_memops_path hk_memops_active(void);

/* "auto", "generic", "avx2", "neon"; "unknown" for other values. */
const char *hk_memops_path_name(hk_memops_path path);

/* One path's implementation, for tests and benchmarks that call a path
 * directly without changing the active one. Same contract as hk_memset,
 * hk_memzero and hk_memcpy. */
typedef struct hk_memops_table {
  hk_memops_path path;
  void (*set)(void *dst, int c, size_t n);
  void (*zero)(void *dst, size_t n);
  void (*copy)(void *dst, const void *src, size_t n);
} hk_memops_table;

/* The table of path; for HK_MEMOPS_AUTO, the table the automatic choice
 * picks. NULL if path is not supported here. */
const hk_memops_table *hk_memops_table_get(hk_memops_path path);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_CORE_MEMOPS_H */
