/* hakmem/free_fast.h — the free fast path, inlined into every entry point
 * that frees (shim.c's free and operator delete, hakmem.c's hak_free).
 *
 * The page map names the block's slab (two loads, any pointer); the slab's
 * owner word equals the thread's token for a tiny class this thread serves
 * on the fast route (token + 1: a mid class). A tiny free then checks the
 * block start (one AND), the carved range (one compare, which also rejects
 * every pointer above 2^48) and an immediate double free (the page's list
 * head), pushes onto the page and counts the page's blocks down; a mid free
 * pushes onto the class's stack. Every other case of a slab — another
 * thread's slab, a counted route, a full cache, a bad pointer into a slab —
 * goes to hk_free_slab, and a large block, NULL or a pointer outside every
 * slab to hk_free_slow (alloc.c), which validate and report. */
#ifndef HAKMEM_FREE_FAST_H
#define HAKMEM_FREE_FAST_H

#include "hakmem/alloc.h"
#include "hakmem/core/atomic.h"
#include "hakmem/core/compiler.h"
#include "hakmem/front/front.h"
#include "hakmem/front/l0.h"
#include "hakmem/mid/mid.h"
#include "hakmem/segment/segment.h"
#include "hakmem/thread.h"

/* The tiny route's free of p in slab s; false for the slow path. */
HAK_INLINE bool hk_free_fast_tiny(hk_slab_t *s, void *p) {
  int r = hk_tiny_free_fast(s, p);
  if (HAK_LIKELY(r == HK_TINY_FREED)) return true;
  if (r == HK_TINY_EMPTIED) {
    hk_tiny_page_emptied(&hk_t_thread->tiny, s);
    return true;
  }
  return false;
}

HAK_INLINE void hk_free_fast(void *p) {
  hk_slab_t *s = hk_seg_slab_fast(p);
  if (HAK_LIKELY(s != NULL)) {
    uintptr_t tok = hk_thread_token();
    uintptr_t own = hk_atomic_load_relaxed(&s->owner);
    if (HAK_LIKELY(own == tok)) {
      if (HAK_LIKELY(hk_free_fast_tiny(s, p))) return;
    } else if (own == tok + HK_TAG_MID) {
      if (HAK_LIKELY(hk_mid_free_fast(s, p))) return;
    } else if (own == tok + HK_TAG_L0) {
      /* Leftover-mode L0 classes free onto their pages like the tiny route. */
      hk_thread_t *t = hk_t_thread;
      if (t->l0.leftover ? hk_free_fast_tiny(s, p) : hk_l0_free_fast(&t->l0, s, p)) return;
    }
    hk_free_slab(s, p); /* another owner's slab, a counted route, a full cache, a bad pointer */
    return;
  }
  hk_free_slow(p);
}

#endif /* HAKMEM_FREE_FAST_H */
