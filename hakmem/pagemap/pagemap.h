/* hakmem/pagemap/pagemap.h — the page map box: address -> slab descriptor
 * for every 64 KiB slab of HAKMEM's SuperSlabs, in two dependent loads and
 * no compare, safe for any pointer value (foreign and garbage ones too).
 *
 * Owns: a two-level radix map at 64 KiB granularity. The root is a static
 * table of 2^17 words (1 MiB of .bss, touched only where leaves exist); each
 * leaf (256 KiB, mmap'ed on first use, committed page by page by the kernel
 * as entries are written) covers 2 GiB of address space. A 48-bit address
 * space costs at most the leaves of the 2 GiB ranges that hold SuperSlabs.
 * Pointers above 2^48 alias lower ones: callers must confirm a hit by a
 * compare with absolute addresses of the entry (the free fast path's
 * carved-range test does). Entries are words the owner of the range chose
 * (the segment box stores slab descriptor addresses); 0 = nothing here.
 * Boundary: knows nothing of SuperSlabs or slabs; memory only from the OS
 * box. Used by the segment box (registers its SuperSlabs) and read by the
 * free fast path through hk_pagemap_get. */
#ifndef HAKMEM_PAGEMAP_PAGEMAP_H
#define HAKMEM_PAGEMAP_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/compiler.h"

#define HK_PM_SHIFT 16u     /* 64 KiB per entry */
#define HK_PM_LEAF_BITS 15u /* 2 GiB per leaf */
#define HK_PM_ROOT_BITS (48u - HK_PM_SHIFT - HK_PM_LEAF_BITS) /* 17 */
#define HK_PM_LEAF_SHIFT (HK_PM_SHIFT + HK_PM_LEAF_BITS)      /* 31 */

extern hk_atomic_word hk_pagemap_root[(size_t)1 << HK_PM_ROOT_BITS];

/* The entry of the 64 KiB granule holding p (0 if none). Any pointer value
 * is safe; above 2^48 the answer belongs to an aliased granule. Relaxed
 * loads: an entry a thread can rightly ask about was published before the
 * pointer reached it (through the program's own synchronisation). */
HAK_INLINE uintptr_t hk_pagemap_get(const void *p) {
  uintptr_t a = (uintptr_t)p;
  const hk_atomic_word *leaf = (const hk_atomic_word *)hk_atomic_load_relaxed(
      &hk_pagemap_root[(a >> HK_PM_LEAF_SHIFT) & (((uintptr_t)1 << HK_PM_ROOT_BITS) - 1)]);
  if (HAK_UNLIKELY(leaf == NULL)) return 0;
  return hk_atomic_load_relaxed(&leaf[(a >> HK_PM_SHIFT) & (((uintptr_t)1 << HK_PM_LEAF_BITS) - 1)]);
}

/* Sets the entries of the `n` granules from `base` (64 KiB aligned, below
 * 2^48) to first, first + step, first + 2 * step, ... Returns 0, or -1 when
 * a leaf could not be mapped (then nothing was changed). */
int hk_pagemap_set(uintptr_t base, size_t n, uintptr_t first, uintptr_t step);

/* Clears the entries of the `n` granules from `base` (leaves stay). */
void hk_pagemap_clear(uintptr_t base, size_t n);

#endif /* HAKMEM_PAGEMAP_PAGEMAP_H */
