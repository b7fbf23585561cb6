/* hakmem/core/size_class.h — HAKMEM's size classes and size -> class in O(1).
 *
 * Owns: the class table and the mapping size -> class. No state.
 *
 *   tiny  C0..C7   8, 16, 32, 64, 128, 256, 512, 1024 B      (SPEC §3)
 *   mid   C8..C25  1025 B .. 32 KiB, on 64 KiB pool pages
 *   large          > 32 KiB: page-granular spans (HAK_CLASS_LARGE)
 *
 * Mid spacing, justified by waste. Up to 8 KiB: four classes per power of two
 * (1280, 1536, 1792, 2048, 2560, ... 8192), so internal fragmentation is at
 * most 20% and every class is a multiple of 256 B. Above 8 KiB a 64 KiB page
 * holds only n = 7..2 blocks, so the class is the largest multiple of 128 B
 * with n blocks per page (9344, 10880, 13056, 16384, 21760, 32768): a larger
 * class with the same n would waste the same page, a smaller one only adds
 * page tail. Worst-case waste per block, internal + page tail, counted against
 * the page share (64 KiB / n):
 *   1280 20.2%  1536 17.9%  1792 15.6%  2048 12.5%  2560 21.8%  3072 17.9%
 *   3584 15.6%  4096 12.5%  5120 25.0%  6144 21.9%  7168 15.6%  8192 12.5%
 *   9344 12.5%  10880 14.4% 13056 17.0% 16384 20.3% 21760 25.0% 32768 33.6%
 * (32768 is two blocks per page: any class in 21761..32768 costs half a page.)
 *
 * Alignment (SPEC §3): tiny blocks are powers of two carved from 64 KiB
 * aligned slabs, so a block of class c is aligned to its own size; mid blocks
 * are multiples of 128 B from 64 KiB-aligned pages, so 128-aligned; both meet
 * min(16, largest power of two <= size).
 *
 * Fast path: tiny classes by a 129-entry table indexed by (size + 7) / 8,
 * mid classes by a 256-entry table indexed by (size - 1) / 128. No loops. */
#ifndef HAKMEM_CORE_SIZE_CLASS_H
#define HAKMEM_CORE_SIZE_CLASS_H

#include <stddef.h>
#include <stdint.h>

#include "hakmem/core/bits.h"
#include "hakmem/core/compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAK_TINY_CLASSES 8u
#define HAK_MID_CLASSES 18u
#define HAK_SMALL_CLASSES (HAK_TINY_CLASSES + HAK_MID_CLASSES) /* served from 64 KiB slabs */
#define HAK_CLASS_LARGE HAK_SMALL_CLASSES
#define HAK_TINY_MIN 8u
#define HAK_TINY_MAX 1024u
#define HAK_MID_MAX 32768u
#define HAK_SLAB_SHIFT 16u
#define HAK_SLAB_SIZE ((size_t)1 << HAK_SLAB_SHIFT) /* 64 KiB slab / pool page */

/* Block size of each small class (tiny and mid). */
extern const uint32_t hk_class_size[HAK_SMALL_CLASSES];
/* Mid class (index into hk_class_size) for (size - 1) >> 7, size in 1025..32768. */
extern const uint8_t hk_mid_class_lut[256];

/* Tiny class for (size + 7) >> 3, size in 0..1024. */
extern const uint8_t hk_tiny_class_lut[129];

/* size in 0..1024 -> C0..C7 (0 maps to C0: malloc(0) gets a unique block):
 * one add, one shift, one byte load. */
HAK_INLINE unsigned hk_tiny_class(size_t size) { return hk_tiny_class_lut[(size + 7) >> 3]; }

/* size in 1025..32768 -> C8..C25. */
HAK_INLINE unsigned hk_mid_class(size_t size) {
  return hk_mid_class_lut[(size - 1) >> 7];
}

/* Any size -> class; HAK_CLASS_LARGE for sizes above 32 KiB. */
HAK_INLINE unsigned hk_size_class(size_t size) {
  if (size <= HAK_TINY_MAX) return hk_tiny_class(size);
  if (size <= HAK_MID_MAX) return hk_mid_class(size);
  return HAK_CLASS_LARGE;
}

/* Reciprocals for dividing slab offsets by block sizes without a divide. */
extern const uint32_t hk_class_div_magic[HAK_SMALL_CLASSES];

/* off / hk_class_size[c] for off < 64 KiB (one multiply, exact). */
HAK_INLINE uint32_t hk_class_div(unsigned c, uint32_t off) {
  return (uint32_t)(((uint64_t)off * hk_class_div_magic[c]) >> 32);
}

/* Blocks of class c that fit in one 64 KiB slab. */
HAK_INLINE uint32_t hk_class_capacity(unsigned c) {
  return (uint32_t)(HAK_SLAB_SIZE / hk_class_size[c]);
}

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_CORE_SIZE_CLASS_H */
