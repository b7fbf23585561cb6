/* hakmem/malloc_fast.h — the malloc fast path, inlined into every entry
 * point that allocates (shim.c's malloc family and operator new, hakmem.c's
 * hak_malloc, alloc.c's calloc/realloc).
 *
 * Tiny sizes (1..1024 B): the thread record's page table, indexed by the
 * request's 8-byte granule, names the current page of its class; pop it (a
 * class on another route, or a thread not set up yet, finds a page with no
 * free blocks). Mid sizes
 * (<= 32 KiB): pop the class's stack. Everything else (malloc(0) included),
 * and every miss, goes to hk_malloc_slow (alloc.c). */
#ifndef HAKMEM_MALLOC_FAST_H
#define HAKMEM_MALLOC_FAST_H

#include <stddef.h>

#include "hakmem/alloc.h"
#include "hakmem/core/compiler.h"
#include "hakmem/core/size_class.h"
#include "hakmem/front/front.h"
#include "hakmem/mid/mid.h"
#include "hakmem/policy/policy.h"
#include "hakmem/thread.h"

HAK_INLINE void *hk_malloc_fast(size_t size) {
#ifdef HAKMEM_GATE_SLOWDOWN
  /* Test-only, never in a normal build (bazel --define=hakmem_gate_slowdown=N,
   * N = 1..4, see hakmem/BUILD.bazel): N deliberate units of delay on the
   * request size's dependency chain, each 2 instructions and 1 cycle
   * (x86-64: an addition of 0 and a nop), which ci/gate.sh
   * GATE_INJECT_SLOWDOWN=N and tools/gate_stacked.sh use to check that the
   * regression gate catches slowdowns of that size, stacked or not. */
  for (unsigned unit = 0; unit < (unsigned)(HAKMEM_GATE_SLOWDOWN); unit++) {
#if defined(__x86_64__)
    __asm__ volatile("add $0, %0\n\tnop" : "+r"(size));
#else
    __asm__ volatile("" : "+r"(size));
#endif
  }
#endif
  hk_thread_t *t = hk_t_thread;
  /* size - 1: malloc(0) falls through both ranges to the slow path. */
  if (HAK_LIKELY(size - 1 < HAK_TINY_MAX)) {
    void *p = hk_tiny_alloc_fast(&t->tiny, size);
    if (HAK_LIKELY(p != NULL)) return p;
  } else if (size - 1 < HAK_MID_MAX) {
    unsigned cls = hk_mid_class(size);
    if (HAK_LIKELY(t->route[cls] == HK_ROUTE_MID && hk_mid_has(&t->mid, cls))) return hk_mid_pop(&t->mid, cls);
  }
  return hk_malloc_slow(size);
}

#endif /* HAKMEM_MALLOC_FAST_H */
