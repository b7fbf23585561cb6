// Exhaustive size-class checks for every size 0..64 KiB (hakmem/core/size_class.h).
#include "hakmem/core/size_class.h"

#include <gtest/gtest.h>

namespace {

size_t AlignmentRequired(size_t size) {
  if (size == 0) return 1;
  size_t p = hk_bits_pow2_floor(size);
  return p < 16 ? p : 16;
}

TEST(SizeClass, TableIsStrictlyIncreasingAndAligned) {
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    if (c > 0) EXPECT_LT(hk_class_size[c - 1], hk_class_size[c]) << "class " << c;
    EXPECT_EQ(hk_class_size[c] % (c < HAK_TINY_CLASSES ? hk_class_size[c] : 128u), 0u);
    EXPECT_GE(hk_class_capacity(c), 2u);
  }
  EXPECT_EQ(hk_class_size[HAK_TINY_CLASSES - 1], HAK_TINY_MAX);
  EXPECT_EQ(hk_class_size[HAK_SMALL_CLASSES - 1], HAK_MID_MAX);
  for (unsigned c = 0; c < HAK_TINY_CLASSES; c++) EXPECT_EQ(hk_class_size[c], 8u << c);
}

TEST(SizeClass, EverySizeUpTo64KiB) {
  for (size_t size = 0; size <= 65536; size++) {
    unsigned c = hk_size_class(size);
    if (size > HAK_MID_MAX) {
      ASSERT_EQ(c, HAK_CLASS_LARGE) << "size " << size;
      continue;
    }
    ASSERT_LT(c, HAK_SMALL_CLASSES) << "size " << size;
    // The class fits ...
    ASSERT_GE(hk_class_size[c], size) << "size " << size;
    // ... and no smaller class does.
    if (c > 0) {
      ASSERT_LT(hk_class_size[c - 1], size) << "size " << size;
    }
    // Tiny sizes stay tiny, mid sizes stay mid.
    ASSERT_EQ(c < HAK_TINY_CLASSES, size <= HAK_TINY_MAX) << "size " << size;
    // Block size is a multiple of the alignment the contract requires, and
    // slabs are 64 KiB aligned, so every block is aligned.
    ASSERT_EQ(hk_class_size[c] % AlignmentRequired(size), 0u) << "size " << size;
    ASSERT_EQ(HAK_SLAB_SIZE % AlignmentRequired(size), 0u);
  }
}

TEST(SizeClass, MidWasteBound) {
  // Worst-case waste against the page share stays within the documented
  // bound: 25% for every class except the two-per-page 32 KiB class.
  size_t prev = HAK_TINY_MAX;
  for (unsigned c = HAK_TINY_CLASSES; c < HAK_SMALL_CLASSES; c++) {
    double share = double(HAK_SLAB_SIZE) / hk_class_capacity(c);
    double waste = 1.0 - double(prev + 1) / share;
    EXPECT_LE(waste, c == HAK_SMALL_CLASSES - 1 ? 0.34 : 0.25) << "class " << c;
    prev = hk_class_size[c];
  }
}

}  // namespace

namespace {

TEST(SizeClass, ReciprocalDivisionIsExactForEverySlabOffset) {
  for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
    for (uint32_t off = 0; off < HAK_SLAB_SIZE; off++) {
      ASSERT_EQ(hk_class_div(c, off), off / hk_class_size[c]) << "class " << c << " offset " << off;
    }
  }
}

}  // namespace
