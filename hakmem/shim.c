/* hakmem/shim.c — replaces the C library's allocator: the malloc family,
 * glibc's __libc_* aliases, malloc_trim and the C++ operator new/delete forms
 * (by their Itanium-ABI mangled names), all routed to HAKMEM.
 *
 * Boundary: only symbol definitions; the work is in alloc.c. Linked into a
 * program through //hakmem:malloc_shim (alwayslink) or preloaded as
 * libhakmem.so. C++ allocation failure calls the installed new_handler and
 * throws std::bad_alloc through libstdc++ when the program has it (weak
 * references, so C programs need no C++ runtime). */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "hakmem/alloc.h"
#include "hakmem/free_fast.h"
#include "hakmem/malloc_fast.h"
#include "hakmem/core/compiler.h"
#include "hakmem/core/report.h"
#include "hakmem/introspect.h"

#define SHIM HAK_EXPORT

SHIM void *malloc(size_t size) { return hk_malloc_fast(size); }
SHIM void free(void *p) { hk_free_fast(p); }
SHIM void *calloc(size_t n, size_t size) { return hk_api_calloc(n, size); }
SHIM void *realloc(void *p, size_t size) { return hk_api_realloc(p, size); }
SHIM void *reallocarray(void *p, size_t n, size_t size) { return hk_api_reallocarray(p, n, size); }
SHIM int posix_memalign(void **out, size_t alignment, size_t size) {
  return hk_api_posix_memalign(out, alignment, size);
}
SHIM void *aligned_alloc(size_t alignment, size_t size) { return hk_api_aligned_alloc(alignment, size); }
SHIM void *memalign(size_t alignment, size_t size) { return hk_api_memalign(alignment, size); }
SHIM void *valloc(size_t size) { return hk_api_valloc(size); }
SHIM void *pvalloc(size_t size) { return hk_api_pvalloc(size); }
SHIM size_t malloc_usable_size(void *p) { return hk_api_usable_size(p); }
SHIM int malloc_trim(size_t pad) { return hk_api_trim(pad); }
/* C23 sized frees: the size is a hint HAKMEM does not need. */
SHIM void free_sized(void *p, size_t size) { (void)size; hk_free_fast(p); }
SHIM void free_aligned_sized(void *p, size_t alignment, size_t size) {
  (void)alignment;
  (void)size;
  hk_free_fast(p);
}

/* glibc's internal names, so code that calls them stays consistent. */
SHIM void *__libc_malloc(size_t size) { return hk_malloc_fast(size); }
SHIM void __libc_free(void *p) { hk_free_fast(p); }
SHIM void *__libc_calloc(size_t n, size_t size) { return hk_api_calloc(n, size); }
SHIM void *__libc_realloc(void *p, size_t size) { return hk_api_realloc(p, size); }
SHIM void *__libc_memalign(size_t alignment, size_t size) { return hk_api_memalign(alignment, size); }
SHIM void *__libc_valloc(size_t size) { return hk_api_valloc(size); }
SHIM void *__libc_pvalloc(size_t size) { return hk_api_pvalloc(size); }
SHIM int __posix_memalign(void **out, size_t alignment, size_t size) {
  return hk_api_posix_memalign(out, alignment, size);
}

/* ---- C++ --------------------------------------------------------------- */

typedef void (*hk_new_handler)(void);
/* std::get_new_handler() and std::__throw_bad_alloc() from libstdc++. */
extern hk_new_handler _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

/* operator new semantics: retry through the new_handler; without one, throw
 * std::bad_alloc (nothrow forms return NULL instead). */
static HAK_NOINLINE void *cxx_new_fail(size_t size, size_t alignment, int nothrow) {
  for (;;) {
    hk_new_handler h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
    if (h == NULL) break;
    h();
    void *p = alignment ? hk_api_aligned_alloc(alignment, size) : hk_api_malloc(size);
    if (p != NULL) return p;
  }
  if (nothrow) return NULL;
  if (_ZSt17__throw_bad_allocv) _ZSt17__throw_bad_allocv();
  hk_fatal("operator new(%zu): out of memory and no C++ runtime to throw std::bad_alloc", size);
}

HAK_INLINE void *cxx_new(size_t size) {
  void *p = hk_malloc_fast(size);
  return HAK_LIKELY(p != NULL) ? p : cxx_new_fail(size, 0, 0);
}

HAK_INLINE void *cxx_new_nothrow(size_t size) {
  void *p = hk_malloc_fast(size);
  return HAK_LIKELY(p != NULL) ? p : cxx_new_fail(size, 0, 1);
}

HAK_INLINE void *cxx_new_aligned(size_t size, size_t alignment, int nothrow) {
  void *p = hk_api_aligned_alloc(alignment, size);
  return HAK_LIKELY(p != NULL) ? p : cxx_new_fail(size, alignment, nothrow);
}

/* new / new[] */
SHIM void *_Znwm(size_t size) { return cxx_new(size); }
SHIM void *_Znam(size_t size) { return cxx_new(size); }
SHIM void *_ZnwmRKSt9nothrow_t(size_t size, const void *nt) { (void)nt; return cxx_new_nothrow(size); }
SHIM void *_ZnamRKSt9nothrow_t(size_t size, const void *nt) { (void)nt; return cxx_new_nothrow(size); }
SHIM void *_ZnwmSt11align_val_t(size_t size, size_t al) { return cxx_new_aligned(size, al, 0); }
SHIM void *_ZnamSt11align_val_t(size_t size, size_t al) { return cxx_new_aligned(size, al, 0); }
SHIM void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t al, const void *nt) {
  (void)nt;
  return cxx_new_aligned(size, al, 1);
}
SHIM void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t al, const void *nt) {
  (void)nt;
  return cxx_new_aligned(size, al, 1);
}

/* delete / delete[]: plain, sized, nothrow, aligned, sized+aligned. */
SHIM void _ZdlPv(void *p) { hk_free_fast(p); }
SHIM void _ZdaPv(void *p) { hk_free_fast(p); }
SHIM void _ZdlPvm(void *p, size_t size) { (void)size; hk_free_fast(p); }
SHIM void _ZdaPvm(void *p, size_t size) { (void)size; hk_free_fast(p); }
SHIM void _ZdlPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; hk_free_fast(p); }
SHIM void _ZdaPvRKSt9nothrow_t(void *p, const void *nt) { (void)nt; hk_free_fast(p); }
SHIM void _ZdlPvSt11align_val_t(void *p, size_t al) { (void)al; hk_free_fast(p); }
SHIM void _ZdaPvSt11align_val_t(void *p, size_t al) { (void)al; hk_free_fast(p); }
SHIM void _ZdlPvmSt11align_val_t(void *p, size_t size, size_t al) {
  (void)size;
  (void)al;
  hk_free_fast(p);
}
SHIM void _ZdaPvmSt11align_val_t(void *p, size_t size, size_t al) {
  (void)size;
  (void)al;
  hk_free_fast(p);
}
SHIM void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt) {
  (void)al;
  (void)nt;
  hk_free_fast(p);
}
SHIM void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt) {
  (void)al;
  (void)nt;
  hk_free_fast(p);
}

/* glibc's introspection calls, from HAKMEM's numbers (introspect.c). */
SHIM struct mallinfo2 mallinfo2(void) { return hk_introspect_mallinfo2(); }
SHIM struct mallinfo mallinfo(void) { return hk_introspect_mallinfo(); }
SHIM void malloc_stats(void) { hk_introspect_malloc_stats(); }
SHIM int malloc_info(int options, FILE *fp) { return hk_introspect_malloc_info(options, fp); }
SHIM int mallopt(int param, int value) { return hk_introspect_mallopt(param, value); }
