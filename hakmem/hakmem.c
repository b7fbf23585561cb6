/* hakmem/hakmem.c — the public hak_* entry points (hakmem/hakmem.h). */
#include "hakmem/hakmem.h"

#include "hakmem/alloc.h"
#include "hakmem/free_fast.h"
#include "hakmem/malloc_fast.h"
#include "hakmem/core/compiler.h"
#include "hakmem/core/memops.h"

HAK_EXPORT void *hak_malloc(size_t size) { return hk_malloc_fast(size); }
HAK_EXPORT void hak_free(void *p) { hk_free_fast(p); }
HAK_EXPORT void *hak_calloc(size_t n, size_t size) { return hk_api_calloc(n, size); }
HAK_EXPORT void *hak_realloc(void *p, size_t size) { return hk_api_realloc(p, size); }
HAK_EXPORT void *hak_reallocarray(void *p, size_t n, size_t size) {
  return hk_api_reallocarray(p, n, size);
}
HAK_EXPORT int hak_posix_memalign(void **out, size_t alignment, size_t size) {
  return hk_api_posix_memalign(out, alignment, size);
}
HAK_EXPORT void *hak_aligned_alloc(size_t alignment, size_t size) {
  return hk_api_aligned_alloc(alignment, size);
}
HAK_EXPORT void *hak_memalign(size_t alignment, size_t size) {
  return hk_api_memalign(alignment, size);
}
HAK_EXPORT size_t hak_usable_size(const void *p) { return hk_api_usable_size(p); }
HAK_EXPORT int hak_trim(size_t pad) { return hk_api_trim(pad); }
HAK_EXPORT int hak_owns(const void *p) { return hk_api_owns(p); }
HAK_EXPORT void hak_stats_get(hak_stats_t *out) { hk_api_stats(out); }
HAK_EXPORT void hak_front_stats_get(hak_front_stats_t *out) { hk_api_front_stats(out); }
HAK_EXPORT void hak_stats_print(int fd) { hk_api_stats_print(fd); }

#if defined(__x86_64__)
#define HAK_ARCH "x86_64"
#elif defined(__aarch64__)
#define HAK_ARCH "aarch64"
#else
#define HAK_ARCH "generic"
#endif

/* "hakmem 0.1.0 (x86_64, memops avx2)": architecture and the memset/memcpy
 * path picked at run time. */
HAK_EXPORT const char *hak_version(void) {
  switch (hk_memops_active()) {
    case HK_MEMOPS_AVX2: return "hakmem " HAKMEM_VERSION " (" HAK_ARCH ", memops avx2)";
    case HK_MEMOPS_NEON: return "hakmem " HAKMEM_VERSION " (" HAK_ARCH ", memops neon)";
    default: return "hakmem " HAKMEM_VERSION " (" HAK_ARCH ", memops generic)";
  }
}
