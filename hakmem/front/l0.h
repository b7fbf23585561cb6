/* hakmem/front/l0.h — the L0 magazine box (TinyHeapV2, SPEC §3 "Tiny front",
 * seed 000): a per-thread array stack of blocks for C0..C3 in front of the
 * TLS free lists.
 *
 * Owns: one magazine of HK_L0_CAP block pointers per class C0..C3 and the
 * supply rule: mode 0 "stealing" (default) — free fills the magazine first
 * and only a full magazine lets the block go to the TLS list; mode 1
 * "leftover" — the TLS list stays the primary owner and the magazine only
 * takes what the list has no room for. malloc pops the magazine first in both
 * modes. A magazine never writes into the blocks it holds (no next pointer),
 * which is what it buys over the list. Blocks in a magazine count as in use
 * by their slabs, like blocks in the TLS lists.
 * Boundary: validates nothing itself — the API layer has checked that the
 * block is a handed-out block start of a slab the thread owns; blocks leave
 * the magazine only to the caller or, on flush, to the tiny front
 * (hk_tiny_return). */
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

/* Pushes p if the magazine has room and p is not the block freed just
 * before (an immediate double free goes to the caller's slow path). */
HAK_INLINE bool hk_l0_push(hk_l0_t *l, unsigned cls, void *p) {
  hk_l0_mag_t *m = &l->mag[cls];
  uint32_t n = m->n;
  if (HAK_UNLIKELY(n == HK_L0_CAP)) return false;
  if (HAK_UNLIKELY(n != 0 && m->slot[n - 1] == p)) return false;
  m->slot[n] = p;
  m->n = n + 1;
  return true;
}

/* Owner-side free of a tiny block p of slab s on the L0 route, by the supply
 * mode. False: the slow path of the tiny front must take it. *to_mag tells
 * whether the magazine took the block (for the stats box). */
HAK_INLINE bool hk_l0_free(hk_l0_t *l, hk_tiny_cache_t *tc, const hk_slab_t *s, void *p, bool *to_mag) {
  unsigned cls = s->cls;
  *to_mag = false;
  if (HAK_UNLIKELY(!hk_tiny_block_ok(s, p))) return false;
  if (!l->leftover) {
    if (HAK_LIKELY(hk_l0_push(l, cls, p))) {
      *to_mag = true;
      return true;
    }
    return hk_tiny_free_fast(tc, s, p);
  }
  const hk_tiny_list_t *tl = &tc->list[cls];
  if (tl->count >= tl->limit && (hk_block_t *)p != tl->head && hk_l0_push(l, cls, p)) {
    *to_mag = true;
    return true;
  }
  return hk_tiny_free_fast(tc, s, p);
}

/* Returns every block of every magazine to the tiny front. */
void hk_l0_flush(hk_l0_t *l, hk_tiny_cache_t *tc);

#endif /* HAKMEM_FRONT_L0_H */
