/* hakmem/core/bits.h — bit operations on size_t/uintptr_t.
 *
 * Owns: count leading/trailing zeros, floor/ceil log2, power-of-two tests and
 * alignment arithmetic. Boundary: pure functions, no state; every function is
 * defined for its whole documented domain (no undefined clz(0)). */
#ifndef HAKMEM_CORE_BITS_H
#define HAKMEM_CORE_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hakmem/core/compiler.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAK_SIZE_BITS (sizeof(size_t) * 8u)

/* Index of the highest set bit; x must be != 0. */
HAK_INLINE unsigned hk_bits_log2_floor(size_t x) {
  return (unsigned)(HAK_SIZE_BITS - 1u - (unsigned)__builtin_clzl(x));
}

/* Smallest k with 2^k >= x; hk_bits_log2_ceil(0) == hk_bits_log2_ceil(1) == 0. */
HAK_INLINE unsigned hk_bits_log2_ceil(size_t x) {
  return x <= 1 ? 0u : hk_bits_log2_floor(x - 1) + 1u;
}

/* Number of trailing zero bits; hk_bits_ctz(0) == bit width. */
HAK_INLINE unsigned hk_bits_ctz(size_t x) {
  return x == 0 ? (unsigned)HAK_SIZE_BITS : (unsigned)__builtin_ctzl(x);
}

/* Number of leading zero bits; hk_bits_clz(0) == bit width. */
HAK_INLINE unsigned hk_bits_clz(size_t x) {
  return x == 0 ? (unsigned)HAK_SIZE_BITS : (unsigned)__builtin_clzl(x);
}

HAK_INLINE unsigned hk_bits_popcount(uint64_t x) {
  return (unsigned)__builtin_popcountll(x);
}

HAK_INLINE bool hk_bits_is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* Largest power of two <= x (x != 0). */
HAK_INLINE size_t hk_bits_pow2_floor(size_t x) { return (size_t)1 << hk_bits_log2_floor(x); }

/* Alignment arithmetic; a must be a power of two. align_up may wrap to 0 for
 * x near SIZE_MAX: callers that take user sizes check overflow first. */
HAK_INLINE size_t hk_bits_align_up(size_t x, size_t a) { return (x + a - 1) & ~(a - 1); }
HAK_INLINE size_t hk_bits_align_down(size_t x, size_t a) { return x & ~(a - 1); }
HAK_INLINE bool hk_bits_is_aligned(uintptr_t x, size_t a) { return (x & (a - 1)) == 0; }

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_CORE_BITS_H */
