// Tests of hakmem/core/bits.h against naive reference implementations:
// exhaustively over small ranges, and at every power of two +-1 and the edges
// of size_t (0, 1, SIZE_MAX, ...).
#include "hakmem/core/bits.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

constexpr unsigned kBits = sizeof(size_t) * 8;

unsigned RefLog2Floor(size_t x) {  // x != 0
  unsigned k = 0;
  while (x >>= 1) k++;
  return k;
}

unsigned RefLog2Ceil(size_t x) {  // smallest k with 2^k >= x (0 for x <= 1)
  unsigned k = 0;
  while (k < kBits && (static_cast<size_t>(1) << k) < x) k++;
  return k;  // kBits when x > 2^(kBits-1)
}

unsigned RefCtz(size_t x) {
  unsigned k = 0;
  while (k < kBits && !((x >> k) & 1)) k++;
  return k;
}

unsigned RefClz(size_t x) {
  unsigned k = 0;
  while (k < kBits && !((x >> (kBits - 1 - k)) & 1)) k++;
  return k;
}

unsigned RefPopcount(uint64_t x) {
  unsigned n = 0;
  for (; x; x >>= 1) n += static_cast<unsigned>(x & 1);
  return n;
}

bool RefIsPow2(size_t x) {
  for (unsigned k = 0; k < kBits; k++)
    if (x == (static_cast<size_t>(1) << k)) return true;
  return false;
}

// Edge values: 0..4, every 2^k and 2^k +- 1, 3*2^k, and the top of size_t.
std::vector<size_t> EdgeValues() {
  std::vector<size_t> v = {0, 1, 2, 3, 4, SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2,
                           SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 2, SIZE_MAX / 3};
  for (unsigned k = 0; k < kBits; k++) {
    size_t p = static_cast<size_t>(1) << k;
    v.push_back(p);
    v.push_back(p - 1);
    v.push_back(p + 1);
    v.push_back(p * 3);
    v.push_back(~p);
  }
  return v;
}

void CheckAll(size_t x) {
  SCOPED_TRACE(::testing::Message() << "x = " << x);
  if (x != 0) {
    ASSERT_EQ(hk_bits_log2_floor(x), RefLog2Floor(x));
    ASSERT_EQ(hk_bits_pow2_floor(x), static_cast<size_t>(1) << RefLog2Floor(x));
    ASSERT_LE(hk_bits_pow2_floor(x), x);
    ASSERT_TRUE(hk_bits_is_pow2(hk_bits_pow2_floor(x)));
  }
  ASSERT_EQ(hk_bits_log2_ceil(x), RefLog2Ceil(x));
  ASSERT_EQ(hk_bits_ctz(x), RefCtz(x));
  ASSERT_EQ(hk_bits_clz(x), RefClz(x));
  ASSERT_EQ(hk_bits_popcount(x), RefPopcount(x));
  ASSERT_EQ(hk_bits_is_pow2(x), RefIsPow2(x));
}

TEST(Bits, ExhaustiveSmallRange) {
  for (size_t x = 0; x <= (1u << 17); x++) {
    CheckAll(x);
    if (HasFatalFailure()) return;
  }
}

TEST(Bits, EdgeValues) {
  for (size_t x : EdgeValues()) {
    CheckAll(x);
    if (HasFatalFailure()) return;
  }
}

TEST(Bits, ZeroAndExtremes) {
  EXPECT_EQ(HAK_SIZE_BITS, kBits);
  // ctz/clz are defined for 0: the bit width.
  EXPECT_EQ(hk_bits_ctz(0), kBits);
  EXPECT_EQ(hk_bits_clz(0), kBits);
  EXPECT_EQ(hk_bits_ctz(1), 0u);
  EXPECT_EQ(hk_bits_clz(1), kBits - 1);
  EXPECT_EQ(hk_bits_ctz(SIZE_MAX), 0u);
  EXPECT_EQ(hk_bits_clz(SIZE_MAX), 0u);
  EXPECT_EQ(hk_bits_ctz(SIZE_MAX / 2 + 1), kBits - 1);
  EXPECT_EQ(hk_bits_clz(SIZE_MAX / 2 + 1), 0u);

  EXPECT_EQ(hk_bits_log2_floor(1), 0u);
  EXPECT_EQ(hk_bits_log2_floor(SIZE_MAX), kBits - 1);
  EXPECT_EQ(hk_bits_log2_ceil(0), 0u);
  EXPECT_EQ(hk_bits_log2_ceil(1), 0u);
  EXPECT_EQ(hk_bits_log2_ceil(2), 1u);
  EXPECT_EQ(hk_bits_log2_ceil(3), 2u);
  EXPECT_EQ(hk_bits_log2_ceil(SIZE_MAX / 2 + 1), kBits - 1);
  EXPECT_EQ(hk_bits_log2_ceil(SIZE_MAX / 2 + 2), kBits);
  EXPECT_EQ(hk_bits_log2_ceil(SIZE_MAX), kBits);

  EXPECT_EQ(hk_bits_popcount(0), 0u);
  EXPECT_EQ(hk_bits_popcount(UINT64_MAX), 64u);
  EXPECT_EQ(hk_bits_popcount(UINT64_C(0x8000000000000001)), 2u);
  EXPECT_EQ(hk_bits_popcount(UINT64_C(0x5555555555555555)), 32u);
  for (unsigned k = 0; k < 64; k++) {
    EXPECT_EQ(hk_bits_popcount(UINT64_C(1) << k), 1u) << k;
    EXPECT_EQ(hk_bits_popcount(~(UINT64_C(1) << k)), 63u) << k;
  }

  EXPECT_FALSE(hk_bits_is_pow2(0));
  EXPECT_TRUE(hk_bits_is_pow2(1));
  EXPECT_TRUE(hk_bits_is_pow2(SIZE_MAX / 2 + 1));
  EXPECT_FALSE(hk_bits_is_pow2(SIZE_MAX));
  EXPECT_EQ(hk_bits_pow2_floor(1), 1u);
  EXPECT_EQ(hk_bits_pow2_floor(SIZE_MAX), SIZE_MAX / 2 + 1);
}

TEST(Bits, Log2FloorCeilAroundEveryPowerOfTwo) {
  for (unsigned k = 0; k < kBits; k++) {
    const size_t p = static_cast<size_t>(1) << k;
    EXPECT_EQ(hk_bits_log2_floor(p), k);
    EXPECT_EQ(hk_bits_log2_ceil(p), k);
    EXPECT_EQ(hk_bits_ctz(p), k);
    EXPECT_EQ(hk_bits_clz(p), kBits - 1 - k);
    EXPECT_EQ(hk_bits_pow2_floor(p), p);
    if (k >= 1) {
      EXPECT_EQ(hk_bits_log2_floor(p + 1), k) << k;
      EXPECT_EQ(hk_bits_log2_ceil(p + 1), k + 1) << k;
      EXPECT_EQ(hk_bits_pow2_floor(p + 1), p) << k;
    }
    if (k >= 2) {
      EXPECT_EQ(hk_bits_log2_floor(p - 1), k - 1) << k;
      EXPECT_EQ(hk_bits_log2_ceil(p - 1), k) << k;
      EXPECT_EQ(hk_bits_pow2_floor(p - 1), p >> 1) << k;
      EXPECT_FALSE(hk_bits_is_pow2(p - 1)) << k;
      EXPECT_FALSE(hk_bits_is_pow2(p + 1)) << k;
    }
  }
}

void CheckAlign(size_t x, size_t a) {
  const size_t down = hk_bits_align_down(x, a);
  const size_t up = hk_bits_align_up(x, a);
  const size_t rem = x % a;
  ASSERT_EQ(down, x - rem) << "x=" << x << " a=" << a;
  ASSERT_TRUE(hk_bits_is_aligned(down, a)) << "x=" << x << " a=" << a;
  ASSERT_EQ(hk_bits_is_aligned(x, a), rem == 0) << "x=" << x << " a=" << a;
  if (rem == 0) {
    ASSERT_EQ(up, x) << "x=" << x << " a=" << a;
  } else if (x - rem <= SIZE_MAX - a) {
    ASSERT_EQ(up, x - rem + a) << "x=" << x << " a=" << a;  // no overflow
    ASSERT_TRUE(hk_bits_is_aligned(up, a));
  } else {
    ASSERT_EQ(up, 0u) << "x=" << x << " a=" << a;  // documented wrap to 0
  }
}

TEST(Bits, AlignExhaustiveSmallRange) {
  for (unsigned k = 0; k <= 14; k++) {
    const size_t a = static_cast<size_t>(1) << k;
    for (size_t x = 0; x <= 3 * 4096 + 7; x++) {
      CheckAlign(x, a);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(Bits, AlignEdgeValues) {
  for (unsigned k = 0; k < kBits; k++) {
    const size_t a = static_cast<size_t>(1) << k;
    for (size_t x : EdgeValues()) {
      CheckAlign(x, a);
      if (HasFatalFailure()) return;
    }
  }
  // The values named in the header's contract.
  EXPECT_EQ(hk_bits_align_up(0, 4096), 0u);
  EXPECT_EQ(hk_bits_align_up(1, 4096), 4096u);
  EXPECT_EQ(hk_bits_align_up(4096, 4096), 4096u);
  EXPECT_EQ(hk_bits_align_up(4097, 4096), 8192u);
  EXPECT_EQ(hk_bits_align_down(4095, 4096), 0u);
  EXPECT_EQ(hk_bits_align_down(SIZE_MAX, 4096), SIZE_MAX - 4095);
  EXPECT_EQ(hk_bits_align_up(SIZE_MAX - 4095, 4096), SIZE_MAX - 4095);
  EXPECT_EQ(hk_bits_align_up(SIZE_MAX - 4094, 4096), 0u);  // wraps, documented
  EXPECT_EQ(hk_bits_align_up(SIZE_MAX, 1), SIZE_MAX);
  EXPECT_EQ(hk_bits_align_down(SIZE_MAX, 1), SIZE_MAX);
  EXPECT_TRUE(hk_bits_is_aligned(UINTPTR_MAX, 1));
  EXPECT_FALSE(hk_bits_is_aligned(UINTPTR_MAX, 2));
  EXPECT_TRUE(hk_bits_is_aligned(0, static_cast<size_t>(1) << (kBits - 1)));
  EXPECT_TRUE(hk_bits_is_aligned(UINTPTR_MAX / 2 + 1, static_cast<size_t>(1) << (kBits - 1)));
  // Pointers: the type alignment of real objects.
  alignas(64) static char buf[128];
  EXPECT_TRUE(hk_bits_is_aligned(reinterpret_cast<uintptr_t>(buf), 64));
  EXPECT_FALSE(hk_bits_is_aligned(reinterpret_cast<uintptr_t>(buf + 1), 2));
}

}  // namespace
