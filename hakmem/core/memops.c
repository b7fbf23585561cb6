/* hakmem/core/memops.c — the generic, AVX2 and NEON paths of hakmem/core/memops.h
 * and the dispatch between them.
 *
 * Every path has the same shape:
 *   - short sizes: two possibly overlapping stores (or load pairs) from each
 *     end, no loop and no byte-by-byte tail;
 *   - medium sizes: a few unaligned stores from both ends;
 *   - large sizes: one unaligned store for the head, then a loop of aligned
 *     stores (words for generic, 32-byte vectors for AVX2, 16-byte for NEON),
 *     then unaligned stores ending exactly at the end for the tail.
 * Overlapping stores rewrite bytes with the same value, which is correct for
 * memset and, because source and destination do not overlap, for memcpy.
 *
 * Word access goes through may_alias, aligned(1) types: no strict-aliasing UB
 * and no call to memcpy for an unaligned load. GCC's loop distribution (and
 * clang's loop-idiom pass) would turn our loops back into calls to libc's
 * memset/memcpy: HAK_MEMOPS_IMPL switches that off for every implementation
 * function. */
#include "hakmem/core/memops.h"

#include <errno.h>
#include <stdint.h>

#include "hakmem/core/atomic.h"
#include "hakmem/core/compiler.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define HAK_MEMOPS_HAVE_AVX2 1
#else
#define HAK_MEMOPS_HAVE_AVX2 0
#endif

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define HAK_MEMOPS_HAVE_NEON 1
#else
#define HAK_MEMOPS_HAVE_NEON 0
#endif

#if defined(__clang__)
#define HAK_MEMOPS_IMPL HAK_NOINLINE __attribute__((no_builtin("memset", "memcpy")))
#else
#define HAK_MEMOPS_IMPL HAK_NOINLINE __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif

/* ---------------------------------------------------------------------------
 * Word access without aliasing or alignment assumptions. */

typedef uint64_t hk_u64_unaligned __attribute__((may_alias, aligned(1)));
typedef uint32_t hk_u32_unaligned __attribute__((may_alias, aligned(1)));
typedef uint16_t hk_u16_unaligned __attribute__((may_alias, aligned(1)));
typedef uint64_t hk_u64_aligned __attribute__((may_alias));

HAK_INLINE uint64_t ld64(const unsigned char *p) { return *(const hk_u64_unaligned *)p; }
HAK_INLINE uint32_t ld32(const unsigned char *p) { return *(const hk_u32_unaligned *)p; }
HAK_INLINE uint16_t ld16(const unsigned char *p) { return *(const hk_u16_unaligned *)p; }
HAK_INLINE void st64(unsigned char *p, uint64_t v) { *(hk_u64_unaligned *)p = v; }
HAK_INLINE void st32(unsigned char *p, uint32_t v) { *(hk_u32_unaligned *)p = v; }
HAK_INLINE void st16(unsigned char *p, uint16_t v) { *(hk_u16_unaligned *)p = v; }

/* The low byte of c in every byte of a word. */
HAK_INLINE uint64_t splat64(int c) {
  return (uint64_t)(unsigned char)c * UINT64_C(0x0101010101010101);
}

HAK_INLINE unsigned char *align_down_ptr(unsigned char *p, uintptr_t a) {
  return (unsigned char *)((uintptr_t)p & ~(a - 1));
}

/* n <= 16: two overlapping stores from each end. */
HAK_INLINE void set_upto16(unsigned char *d, uint64_t w, size_t n) {
  if (n >= 8) {
    st64(d, w);
    st64(d + n - 8, w);
  } else if (n >= 4) {
    st32(d, (uint32_t)w);
    st32(d + n - 4, (uint32_t)w);
  } else if (n >= 2) {
    st16(d, (uint16_t)w);
    st16(d + n - 2, (uint16_t)w);
  } else if (n == 1) {
    d[0] = (unsigned char)w;
  }
}

/* n <= 16: both ends are loaded before anything is stored. */
HAK_INLINE void copy_upto16(unsigned char *d, const unsigned char *s, size_t n) {
  if (n >= 8) {
    uint64_t a = ld64(s), b = ld64(s + n - 8);
    st64(d, a);
    st64(d + n - 8, b);
  } else if (n >= 4) {
    uint32_t a = ld32(s), b = ld32(s + n - 4);
    st32(d, a);
    st32(d + n - 4, b);
  } else if (n >= 2) {
    uint16_t a = ld16(s), b = ld16(s + n - 2);
    st16(d, a);
    st16(d + n - 2, b);
  } else if (n == 1) {
    d[0] = s[0];
  }
}

/* ---------------------------------------------------------------------------
 * Generic path: 8-byte words, 32 bytes per loop iteration. */

HAK_INLINE void generic_set_words(unsigned char *d, uint64_t w, size_t n) {
  if (n <= 16) {
    set_upto16(d, w, n);
    return;
  }
  unsigned char *end = d + n;
  if (n <= 32) {
    st64(d, w);
    st64(d + 8, w);
    st64(end - 16, w);
    st64(end - 8, w);
    return;
  }
  st64(d, w);
  /* p is word-aligned, in (d, d + 8]; [d, d + 8) is already written. */
  unsigned char *p = align_down_ptr(d + 8, 8);
  while ((size_t)(end - p) > 32) {
    hk_u64_aligned *q = (hk_u64_aligned *)p;
    q[0] = w;
    q[1] = w;
    q[2] = w;
    q[3] = w;
    p += 32;
  }
  /* end - p <= 32 and n > 32: the last 32 bytes close the gap. */
  st64(end - 32, w);
  st64(end - 24, w);
  st64(end - 16, w);
  st64(end - 8, w);
}

static HAK_MEMOPS_IMPL void generic_set(void *dst, int c, size_t n) {
  generic_set_words((unsigned char *)dst, splat64(c), n);
}

static HAK_MEMOPS_IMPL void generic_zero(void *dst, size_t n) {
  generic_set_words((unsigned char *)dst, 0, n);
}

static HAK_MEMOPS_IMPL void generic_copy(void *dst, const void *src, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  if (n <= 16) {
    copy_upto16(d, s, n);
    return;
  }
  unsigned char *end = d + n;
  const unsigned char *send = s + n;
  if (n <= 32) {
    uint64_t a = ld64(s), b = ld64(s + 8), y = ld64(send - 16), z = ld64(send - 8);
    st64(d, a);
    st64(d + 8, b);
    st64(end - 16, y);
    st64(end - 8, z);
    return;
  }
  st64(d, ld64(s));
  /* Aligned stores to dst; src keeps its own (any) alignment. */
  unsigned char *p = align_down_ptr(d + 8, 8);
  const unsigned char *q = s + (p - d);
  while ((size_t)(end - p) > 32) {
    uint64_t a = ld64(q), b = ld64(q + 8), y = ld64(q + 16), z = ld64(q + 24);
    hk_u64_aligned *w = (hk_u64_aligned *)p;
    w[0] = a;
    w[1] = b;
    w[2] = y;
    w[3] = z;
    p += 32;
    q += 32;
  }
  st64(end - 32, ld64(send - 32));
  st64(end - 24, ld64(send - 24));
  st64(end - 16, ld64(send - 16));
  st64(end - 8, ld64(send - 8));
}

static const hk_memops_table k_generic_table = {
    HK_MEMOPS_GENERIC, generic_set, generic_zero, generic_copy,
};

/* ---------------------------------------------------------------------------
 * AVX2 path (x86-64): compiled for AVX2 function by function, so the rest of
 * HAKMEM needs no -mavx2 and runs on any x86-64. 128 bytes per iteration. */

#if HAK_MEMOPS_HAVE_AVX2

#define HAK_AVX2_IMPL HAK_MEMOPS_IMPL __attribute__((target("avx2")))
#define HAK_AVX2_INLINE HAK_INLINE __attribute__((target("avx2")))

HAK_AVX2_INLINE void avx2_set_bytes(unsigned char *d, int c, size_t n) {
  if (n <= 16) {
    set_upto16(d, splat64(c), n);
    return;
  }
  unsigned char *end = d + n;
  if (n <= 32) {
    __m128i x = _mm_set1_epi8((char)c);
    _mm_storeu_si128((__m128i *)d, x);
    _mm_storeu_si128((__m128i *)(end - 16), x);
    return;
  }
  __m256i v = _mm256_set1_epi8((char)c);
  if (n <= 64) {
    _mm256_storeu_si256((__m256i *)d, v);
    _mm256_storeu_si256((__m256i *)(end - 32), v);
    return;
  }
  if (n <= 128) {
    _mm256_storeu_si256((__m256i *)d, v);
    _mm256_storeu_si256((__m256i *)(d + 32), v);
    _mm256_storeu_si256((__m256i *)(end - 64), v);
    _mm256_storeu_si256((__m256i *)(end - 32), v);
    return;
  }
  _mm256_storeu_si256((__m256i *)d, v);
  /* p is 32-byte aligned, in (d, d + 32]; [d, d + 32) is already written. */
  unsigned char *p = align_down_ptr(d + 32, 32);
  while ((size_t)(end - p) > 128) {
    _mm256_store_si256((__m256i *)p, v);
    _mm256_store_si256((__m256i *)(p + 32), v);
    _mm256_store_si256((__m256i *)(p + 64), v);
    _mm256_store_si256((__m256i *)(p + 96), v);
    p += 128;
  }
  /* end - p <= 128 and n > 128: the last 128 bytes close the gap. */
  _mm256_storeu_si256((__m256i *)(end - 128), v);
  _mm256_storeu_si256((__m256i *)(end - 96), v);
  _mm256_storeu_si256((__m256i *)(end - 64), v);
  _mm256_storeu_si256((__m256i *)(end - 32), v);
}

static HAK_AVX2_IMPL void avx2_set(void *dst, int c, size_t n) {
  avx2_set_bytes((unsigned char *)dst, c, n);
}

static HAK_AVX2_IMPL void avx2_zero(void *dst, size_t n) {
  avx2_set_bytes((unsigned char *)dst, 0, n);
}

static HAK_AVX2_IMPL void avx2_copy(void *dst, const void *src, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  if (n <= 16) {
    copy_upto16(d, s, n);
    return;
  }
  unsigned char *end = d + n;
  const unsigned char *send = s + n;
  if (n <= 32) {
    __m128i a = _mm_loadu_si128((const __m128i *)s);
    __m128i z = _mm_loadu_si128((const __m128i *)(send - 16));
    _mm_storeu_si128((__m128i *)d, a);
    _mm_storeu_si128((__m128i *)(end - 16), z);
    return;
  }
  if (n <= 64) {
    __m256i a = _mm256_loadu_si256((const __m256i *)s);
    __m256i z = _mm256_loadu_si256((const __m256i *)(send - 32));
    _mm256_storeu_si256((__m256i *)d, a);
    _mm256_storeu_si256((__m256i *)(end - 32), z);
    return;
  }
  if (n <= 128) {
    __m256i a = _mm256_loadu_si256((const __m256i *)s);
    __m256i b = _mm256_loadu_si256((const __m256i *)(s + 32));
    __m256i y = _mm256_loadu_si256((const __m256i *)(send - 64));
    __m256i z = _mm256_loadu_si256((const __m256i *)(send - 32));
    _mm256_storeu_si256((__m256i *)d, a);
    _mm256_storeu_si256((__m256i *)(d + 32), b);
    _mm256_storeu_si256((__m256i *)(end - 64), y);
    _mm256_storeu_si256((__m256i *)(end - 32), z);
    return;
  }
  _mm256_storeu_si256((__m256i *)d, _mm256_loadu_si256((const __m256i *)s));
  /* Aligned stores to dst; src keeps its own (any) alignment. */
  unsigned char *p = align_down_ptr(d + 32, 32);
  const unsigned char *q = s + (p - d);
  while ((size_t)(end - p) > 128) {
    __m256i a = _mm256_loadu_si256((const __m256i *)q);
    __m256i b = _mm256_loadu_si256((const __m256i *)(q + 32));
    __m256i y = _mm256_loadu_si256((const __m256i *)(q + 64));
    __m256i z = _mm256_loadu_si256((const __m256i *)(q + 96));
    _mm256_store_si256((__m256i *)p, a);
    _mm256_store_si256((__m256i *)(p + 32), b);
    _mm256_store_si256((__m256i *)(p + 64), y);
    _mm256_store_si256((__m256i *)(p + 96), z);
    p += 128;
    q += 128;
  }
  __m256i a = _mm256_loadu_si256((const __m256i *)(send - 128));
  __m256i b = _mm256_loadu_si256((const __m256i *)(send - 96));
  __m256i y = _mm256_loadu_si256((const __m256i *)(send - 64));
  __m256i z = _mm256_loadu_si256((const __m256i *)(send - 32));
  _mm256_storeu_si256((__m256i *)(end - 128), a);
  _mm256_storeu_si256((__m256i *)(end - 96), b);
  _mm256_storeu_si256((__m256i *)(end - 64), y);
  _mm256_storeu_si256((__m256i *)(end - 32), z);
}

static const hk_memops_table k_avx2_table = {
    HK_MEMOPS_AVX2, avx2_set, avx2_zero, avx2_copy,
};

/* AVX2 needs the instructions (CPUID.7.0:EBX bit 5, and AVX, CPUID.1:ECX bit
 * 28) and the OS saving YMM state on context switch (CPUID.1:ECX bit 27
 * OSXSAVE, then XCR0 bits 1 (SSE) and 2 (AVX) set). */
static bool x86_detect_avx2(void) {
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid_max(0, NULL) < 7) return false;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const unsigned osxsave = 1u << 27, avx = 1u << 28;
  if ((ecx & (osxsave | avx)) != (osxsave | avx)) return false;
  unsigned xcr0_lo, xcr0_hi;
  /* Inline asm: the _xgetbv() intrinsic would need target("xsave"). */
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  (void)xcr0_hi;
  if ((xcr0_lo & 0x6u) != 0x6u) return false;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  return (ebx & (1u << 5)) != 0;
}

/* 0: not yet detected, 1: no AVX2, 2: AVX2. Detection is idempotent, so
 * racing first callers simply compute the same answer. */
static hk_atomic_u32 g_avx2_state;

static bool x86_has_avx2(void) {
  uint32_t st = hk_atomic_load_relaxed(&g_avx2_state);
  if (HAK_UNLIKELY(st == 0)) {
    st = x86_detect_avx2() ? 2u : 1u;
    hk_atomic_store_relaxed(&g_avx2_state, st);
  }
  return st == 2u;
}

#endif /* HAK_MEMOPS_HAVE_AVX2 */

/* ---------------------------------------------------------------------------
 * NEON path (aarch64; NEON is architectural on ARMv8-A). 64 bytes per
 * iteration, which GCC emits as stp/ldp of q registers. */

#if HAK_MEMOPS_HAVE_NEON

HAK_INLINE void neon_set_bytes(unsigned char *d, int c, size_t n) {
  if (n <= 16) {
    set_upto16(d, splat64(c), n);
    return;
  }
  unsigned char *end = d + n;
  uint8x16_t v = vdupq_n_u8((uint8_t)c);
  if (n <= 32) {
    vst1q_u8(d, v);
    vst1q_u8(end - 16, v);
    return;
  }
  if (n <= 64) {
    vst1q_u8(d, v);
    vst1q_u8(d + 16, v);
    vst1q_u8(end - 32, v);
    vst1q_u8(end - 16, v);
    return;
  }
  vst1q_u8(d, v);
  /* p is 16-byte aligned, in (d, d + 16]; [d, d + 16) is already written. */
  unsigned char *p = align_down_ptr(d + 16, 16);
  while ((size_t)(end - p) > 64) {
    vst1q_u8(p, v);
    vst1q_u8(p + 16, v);
    vst1q_u8(p + 32, v);
    vst1q_u8(p + 48, v);
    p += 64;
  }
  /* end - p <= 64 and n > 64: the last 64 bytes close the gap. */
  vst1q_u8(end - 64, v);
  vst1q_u8(end - 48, v);
  vst1q_u8(end - 32, v);
  vst1q_u8(end - 16, v);
}

static HAK_MEMOPS_IMPL void neon_set(void *dst, int c, size_t n) {
  neon_set_bytes((unsigned char *)dst, c, n);
}

static HAK_MEMOPS_IMPL void neon_zero(void *dst, size_t n) {
  neon_set_bytes((unsigned char *)dst, 0, n);
}

static HAK_MEMOPS_IMPL void neon_copy(void *dst, const void *src, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  if (n <= 16) {
    copy_upto16(d, s, n);
    return;
  }
  unsigned char *end = d + n;
  const unsigned char *send = s + n;
  if (n <= 32) {
    uint8x16_t a = vld1q_u8(s), z = vld1q_u8(send - 16);
    vst1q_u8(d, a);
    vst1q_u8(end - 16, z);
    return;
  }
  if (n <= 64) {
    uint8x16_t a = vld1q_u8(s), b = vld1q_u8(s + 16);
    uint8x16_t y = vld1q_u8(send - 32), z = vld1q_u8(send - 16);
    vst1q_u8(d, a);
    vst1q_u8(d + 16, b);
    vst1q_u8(end - 32, y);
    vst1q_u8(end - 16, z);
    return;
  }
  vst1q_u8(d, vld1q_u8(s));
  /* Aligned stores to dst; src keeps its own (any) alignment. */
  unsigned char *p = align_down_ptr(d + 16, 16);
  const unsigned char *q = s + (p - d);
  while ((size_t)(end - p) > 64) {
    uint8x16_t a = vld1q_u8(q), b = vld1q_u8(q + 16);
    uint8x16_t y = vld1q_u8(q + 32), z = vld1q_u8(q + 48);
    vst1q_u8(p, a);
    vst1q_u8(p + 16, b);
    vst1q_u8(p + 32, y);
    vst1q_u8(p + 48, z);
    p += 64;
    q += 64;
  }
  uint8x16_t a = vld1q_u8(send - 64), b = vld1q_u8(send - 48);
  uint8x16_t y = vld1q_u8(send - 32), z = vld1q_u8(send - 16);
  vst1q_u8(end - 64, a);
  vst1q_u8(end - 48, b);
  vst1q_u8(end - 32, y);
  vst1q_u8(end - 16, z);
}

static const hk_memops_table k_neon_table = {
    HK_MEMOPS_NEON, neon_set, neon_zero, neon_copy,
};

#endif /* HAK_MEMOPS_HAVE_NEON */

/* ---------------------------------------------------------------------------
 * Dispatch. g_active points at one of the constant tables above; it starts
 * at k_resolver_table, whose functions pick the automatic choice, install it
 * (unless a hk_memops_force got there first) and forward the call. The tables
 * are constant data of the program image, never written, so a relaxed load
 * of the pointer is enough to read them. */

static void resolver_set(void *dst, int c, size_t n);
static void resolver_zero(void *dst, size_t n);
static void resolver_copy(void *dst, const void *src, size_t n);

static const hk_memops_table k_resolver_table = {
    HK_MEMOPS_AUTO, resolver_set, resolver_zero, resolver_copy,
};

static _Atomic(const hk_memops_table *) g_active = &k_resolver_table;

static const hk_memops_table *auto_table(void) {
#if HAK_MEMOPS_HAVE_AVX2
  if (x86_has_avx2()) return &k_avx2_table;
#endif
#if HAK_MEMOPS_HAVE_NEON
  return &k_neon_table;
#else
  return &k_generic_table;
#endif
}

static const hk_memops_table *resolve(void) {
  const hk_memops_table *chosen = auto_table();
  const hk_memops_table *expected = &k_resolver_table;
  if (hk_atomic_cas_strong_acq_rel(&g_active, &expected, chosen)) return chosen;
  /* Another thread resolved or forced a path meanwhile: use theirs. */
  return expected;
}

static void resolver_set(void *dst, int c, size_t n) { resolve()->set(dst, c, n); }
static void resolver_zero(void *dst, size_t n) { resolve()->zero(dst, n); }
static void resolver_copy(void *dst, const void *src, size_t n) { resolve()->copy(dst, src, n); }

void hk_memset(void *dst, int c, size_t n) { hk_atomic_load_relaxed(&g_active)->set(dst, c, n); }

void hk_memzero(void *dst, size_t n) { hk_atomic_load_relaxed(&g_active)->zero(dst, n); }

void hk_memcpy(void *dst, const void *src, size_t n) {
  hk_atomic_load_relaxed(&g_active)->copy(dst, src, n);
}

const hk_memops_table *hk_memops_table_get(hk_memops_path path) {
  switch (path) {
    case HK_MEMOPS_AUTO:
      return auto_table();
    case HK_MEMOPS_GENERIC:
      return &k_generic_table;
    case HK_MEMOPS_AVX2:
#if HAK_MEMOPS_HAVE_AVX2
      return x86_has_avx2() ? &k_avx2_table : NULL;
#else
      return NULL;
#endif
    case HK_MEMOPS_NEON:
#if HAK_MEMOPS_HAVE_NEON
      return &k_neon_table;
#else
      return NULL;
#endif
  }
  return NULL;
}

bool hk_memops_supported(hk_memops_path path) { return hk_memops_table_get(path) != NULL; }

int hk_memops_force(hk_memops_path path) {
  const hk_memops_table *t;
  if (path == HK_MEMOPS_AUTO) {
    /* Re-arm the resolver: the next call makes the automatic choice. */
    t = &k_resolver_table;
  } else {
    t = hk_memops_table_get(path);
    if (t == NULL) return EINVAL;
  }
  hk_atomic_store_release(&g_active, t);
  return 0;
}

hk_memops_path hk_memops_active(void) {
  const hk_memops_table *t = hk_atomic_load_relaxed(&g_active);
  if (t == &k_resolver_table) t = resolve();
  return t->path;
}

const char *hk_memops_path_name(hk_memops_path path) {
  switch (path) {
    case HK_MEMOPS_AUTO:
      return "auto";
    case HK_MEMOPS_GENERIC:
      return "generic";
    case HK_MEMOPS_AVX2:
      return "avx2";
    case HK_MEMOPS_NEON:
      return "neon";
  }
  return "unknown";
}
