/* hakmem/front/l0.h — the L0 magazine box (TinyHeapV2, SPEC §3 "Tiny front",
 * seed 000): a per-thread array stack of blocks for C0..C3 in front of the
 * tiny front's pages.
 *
 * Owns: one magazine of HK_L0_CAP block pointers per class C0..C3 and the
 * supply rule: mode 0 "stealing" (default) — free fills the magazine first
 * and only a full magazine lets the block go back to its page; mode 1
 * "leftover" — frees go to the pages, and the magazine is filled with up to
 * half its capacity from the current page each time malloc finds it empty.
 * malloc pops the magazine first in both modes. A magazine never writes
 * into the blocks it holds (no next pointer). Blocks in a magazine count as
 * outside their pages (in use).
 * Boundary: validates nothing itself — the API layer has checked that the
 * block is a handed-out block start of a page the thread owns; blocks leave
 * the magazine only to the caller or, on flush, to their pages through the
 * tiny front (hk_tiny_free_local). */
#ifndef HAKMEM_FRONT_L0_H
#define HAKMEM_FRONT_L0_H

#include <stdbool.h>
#include <stdint.h>

#include "hakmem/core/compiler.h"
#include "hakmem/front/front.h"

#define HK_L0_CLASSES 4u
#define HK_L0_CAP 32u

typedef struct hk_l0_mag {
  uint32_t n;
  void *slot[HK_L0_CAP];
} hk_l0_mag_t;

typedef struct hk_l0 {
  hk_l0_mag_t mag[HK_L0_CLASSES];
  uint8_t leftover; /* HAKMEM_TINY_HEAP_V2_LEFTOVER_MODE */
} hk_l0_t;

HAK_INLINE void *hk_l0_pop(hk_l0_t *l, unsigned cls) {
  hk_l0_mag_t *m = &l->mag[cls];
  if (HAK_UNLIKELY(m->n == 0)) return NULL;
  return m->slot[--m->n];
}

/* The block freed last, on top of the magazine (an immediate double free). */
HAK_INLINE bool hk_l0_is_top(const hk_l0_t *l, unsigned cls, const void *p) {
  const hk_l0_mag_t *m = &l->mag[cls];
  return m->n != 0 && m->slot[m->n - 1] == p;
}

/* Owner-side free of p, a block of page s of an L0 class in stealing mode:
 * pushes p onto the magazine after the tiny front's checks (block start,
 * carved range, not the page's or the magazine's top block). False: the
 * slow path takes it (full magazine, leftover mode, a bad pointer). */
HAK_INLINE bool hk_l0_free_fast(hk_l0_t *l, const hk_slab_t *s, void *p) {
  if (HAK_UNLIKELY(((uintptr_t)p & s->align_mask) != 0)) return false;
  if (HAK_UNLIKELY((uintptr_t)p >= s->carve_end)) return false; /* the owner's own field */
  hk_l0_mag_t *m = &l->mag[s->cls];
  uint32_t n = m->n;
  if (HAK_UNLIKELY(n == HK_L0_CAP || l->leftover || (hk_block_t *)p == s->free)) return false;
  if (HAK_UNLIKELY(n != 0 && m->slot[n - 1] == p)) return false;
  m->slot[n] = p;
  m->n = n + 1;
  return true;
}

/* Pushes p if the magazine has room. */
HAK_INLINE bool hk_l0_push(hk_l0_t *l, unsigned cls, void *p) {
  hk_l0_mag_t *m = &l->mag[cls];
  uint32_t n = m->n;
  if (HAK_UNLIKELY(n == HK_L0_CAP)) return false;
  m->slot[n] = p;
  m->n = n + 1;
  return true;
}

/* Leftover supply: fills an empty magazine of class cls with up to half its
 * capacity from the current page of h. Returns how many it took. */
uint32_t hk_l0_fill(hk_l0_t *l, hk_tiny_t *h, unsigned cls);

/* Returns every block of every magazine to its page. */
void hk_l0_flush(hk_l0_t *l, hk_tiny_t *h);

#endif /* HAKMEM_FRONT_L0_H */
