/* hakmem/thread.h — the per-thread cache record and the owner words (internal
 * to //hakmem:alloc; read by the inline fast paths of malloc_fast.h and
 * free_fast.h).
 *
 * A thread's record holds its tiny front (pages), mid rings, L0 magazines and
 * statistics. The thread's owner token is its thread pointer (%fs:0 on
 * x86-64, TPIDR_EL0 on aarch64: one instruction, no TLS lookup, unique among
 * live threads; mimalloc's thread id). A slab owned by the thread carries
 * token | tag, where the tag says how the thread serves the slab's class, so
 * the free fast path decides "mine, on the common route" with one compare:
 *   HK_TAG_TINY  tiny class on the fast route (the page-local lists)
 *   HK_TAG_MID   mid class on the fast route (the mid rings)
 *   HK_TAG_SLOW  every other route: counted classes (stats, checked mode),
 *                meta mode PER_OP; the slow path decides.
 *   HK_TAG_L0    tiny class behind the L0 magazine (uncounted): free pushes
 *                onto the magazine inline; malloc pops it first thing in the
 *                slow path (the page table sends those classes there).
 * The route of a class is fixed at initialisation (policy box), so the tag
 * is fixed per class and costs no branch per operation. */
#ifndef HAKMEM_THREAD_H
#define HAKMEM_THREAD_H

#include <stdint.h>

#include "hakmem/core/compiler.h"
#include "hakmem/core/size_class.h"
#include "hakmem/front/front.h"
#include "hakmem/front/l0.h"
#include "hakmem/mid/mid.h"
#include "hakmem/stats/stats.h"

enum { HK_TAG_TINY = 0, HK_TAG_MID = 1, HK_TAG_SLOW = 2, HK_TAG_L0 = 3 };

typedef struct hk_thread {
  hk_tiny_t tiny; /* first: the malloc fast path indexes tiny.page from here */
  uint8_t route[HAK_SMALL_CLASSES]; /* HK_ROUTE_* per class, copied at thread set-up */
  uintptr_t token;                  /* owner token (thread pointer; the late record: its address) */
  uintptr_t own[HAK_SMALL_CLASSES]; /* owner word per class: token | HK_TAG_* */
  hk_l0_t l0;
  hk_mid_cache_t mid;
  hk_stats_thread_t stats;
  struct hk_thread *next_all, *prev_all;
  struct hk_thread *next_free;
  hk_seg_batch_t remote; /* pending frees into another thread's slab */
} HAK_CACHE_ALIGNED hk_thread_t;

/* The calling thread's owner token. */
HAK_INLINE uintptr_t hk_thread_token(void) {
  uintptr_t tp;
#if defined(__x86_64__)
  __asm__("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
  __asm__("mrs %0, tpidr_el0" : "=r"(tp));
#else
  tp = (uintptr_t)__builtin_thread_pointer();
#endif
  return tp;
}

/* The calling thread's record; &hk_empty_thread until its first malloc or
 * free sets it up (and again after its exit). Not exported. */
extern HAK_TLS hk_thread_t *hk_t_thread __attribute__((visibility("hidden")));
/* Every list empty, owner of nothing, never written by the fast paths. */
extern hk_thread_t hk_empty_thread __attribute__((visibility("hidden")));

#endif /* HAKMEM_THREAD_H */
