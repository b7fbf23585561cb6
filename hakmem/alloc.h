/* hakmem/alloc.h — HAKMEM's composition layer (internal to //hakmem).
 *
 * Owns: the per-thread record (thread.h: tiny pages, mid rings, L0
 * magazines, statistics) and its life cycle (lazy creation on a thread's
 * first call, a pthread key destructor at thread exit, pthread_atfork
 * handlers), process initialisation from the policy snapshot, the inline
 * fast paths (malloc_fast.h, free_fast.h) and everything they hand over:
 * the class's route when it is not the fast one (counted, PER_OP, L0,
 * checked mode), remote frees, large objects, the diagnostics of bad
 * pointers, and the rest of the malloc family.
 * Boundary: exports nothing itself; hakmem.c gives these functions their
 * public hak_* names and shim.c the malloc family's names. Every function
 * here has the contract of the C/POSIX function it is named after. */
#ifndef HAKMEM_ALLOC_H
#define HAKMEM_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hakmem/hakmem.h"

/* The out-of-line halves of malloc_fast.h / free_fast.h: every malloc and
 * free the inline fast paths do not finish. */
void *hk_malloc_slow(size_t size);
void hk_free_slow(void *p);
/* hk_free_slow for p in slab s (the page map's answer for p): another
 * thread's slab, a counted route, a full cache, a bad pointer. */
struct hk_slab;
void hk_free_slab(struct hk_slab *s, void *p);

void *hk_api_malloc(size_t size); /* the fast path, out of line (internal callers) */
void hk_api_free(void *p);
void *hk_api_calloc(size_t n, size_t size);
void *hk_api_realloc(void *p, size_t size);
void *hk_api_reallocarray(void *p, size_t n, size_t size);
int hk_api_posix_memalign(void **out, size_t alignment, size_t size);
void *hk_api_aligned_alloc(size_t alignment, size_t size);
void *hk_api_memalign(size_t alignment, size_t size);
void *hk_api_valloc(size_t size);
void *hk_api_pvalloc(size_t size);
size_t hk_api_usable_size(const void *p);
int hk_api_trim(size_t pad);
int hk_api_owns(const void *p);
void hk_api_stats(hak_stats_t *out);
/* Adds the blocks pending in every thread's remote-free batch to
 * out[class] (HAK_SMALL_CLASSES entries): freed, not yet on their slabs'
 * remote queues. Exact only while the threads are stopped (tests). */
void hk_api_remote_batched(uint64_t *out);
void hk_api_front_stats(hak_front_stats_t *out);
void hk_api_stats_print(int fd);

#endif /* HAKMEM_ALLOC_H */
