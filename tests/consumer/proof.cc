// Allocates through malloc, calloc, realloc, aligned_alloc, operator new and
// the standard containers, then asks HAKMEM (hak_owns, hak_stats_get) whether
// it served them. Exits 1 if any allocation did not come from HAKMEM, so the
// program fails when the malloc override was dropped by the link.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "hakmem/hakmem.h"

namespace {

int g_checked = 0;
int g_failed = 0;

void expect_owned(const void *p, const char *what, size_t size) {
  g_checked++;
  if (p == nullptr || hak_owns(p) != 1) {
    g_failed++;
    std::fprintf(stderr, "proof: %s of %zu bytes at %p was NOT allocated by HAKMEM\n", what, size, p);
  }
}

}  // namespace

int main() {
  const size_t sizes[] = {1, 16, 100, 1024, 1025, 5000, 32768, 40000, 300000, 3 << 20};
  std::vector<void *> blocks;
  for (size_t s : sizes) {
    void *p = std::malloc(s);
    std::memset(p, 0xAB, s);
    expect_owned(p, "malloc", s);
    blocks.push_back(p);

    void *c = std::calloc(1, s);
    expect_owned(c, "calloc", s);
    blocks.push_back(c);

    void *a = std::aligned_alloc(64, (s + 63) / 64 * 64);
    expect_owned(a, "aligned_alloc", s);
    blocks.push_back(a);

    char *n = new char[s];
    expect_owned(n, "operator new[]", s);
    delete[] n;
  }
  void *r = std::malloc(10);
  for (size_t s = 10; s < (4u << 20); s *= 3) {
    r = std::realloc(r, s);
    expect_owned(r, "realloc", s);
  }
  std::free(r);
  for (void *p : blocks) std::free(p);

  auto obj = std::make_unique<std::vector<std::string>>();
  expect_owned(obj.get(), "operator new", sizeof(*obj));
  for (int i = 0; i < 1000; i++) obj->push_back(std::string(40 + i % 100, 'x'));
  expect_owned(obj->data(), "std::vector storage", obj->capacity() * sizeof(std::string));
  expect_owned((*obj)[999].data(), "std::string storage", (*obj)[999].size());

  int on_stack = 0;
  if (hak_owns(&on_stack) != 0) {
    std::fprintf(stderr, "proof: hak_owns claims a stack address\n");
    g_failed++;
  }

  hak_stats_t st;
  st.size = sizeof(st);
  hak_stats_get(&st);
  if (st.os_mmap_calls == 0 || st.superslabs_live == 0) {
    std::fprintf(stderr, "proof: hak_stats_get shows no HAKMEM activity (mmap calls %llu, superslabs %llu)\n",
                 static_cast<unsigned long long>(st.os_mmap_calls),
                 static_cast<unsigned long long>(st.superslabs_live));
    g_failed++;
  }
  if (g_failed != 0) {
    std::fprintf(stderr, "proof: FAILED: %d of %d checks\n", g_failed, g_checked);
    return 1;
  }
  std::printf("proof: %d allocations served by %s (%llu mmap calls, %llu SuperSlabs live)\n", g_checked,
              hak_version(), static_cast<unsigned long long>(st.os_mmap_calls),
              static_cast<unsigned long long>(st.superslabs_live));
  return 0;
}
