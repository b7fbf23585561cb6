// GoogleTest suite of the consumer workspace: with HAKMEM linked in (through
// `malloc =` or `deps`), the program's malloc, new and containers are served
// by HAKMEM, also across threads.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/hakmem.h"

namespace {

TEST(Consumer, MallocFamilyIsServedByHakmem) {
  for (size_t s : {size_t{0}, size_t{8}, size_t{1000}, size_t{20000}, size_t{100000}, size_t{2} << 20}) {
    void *p = std::malloc(s);
    ASSERT_NE(p, nullptr) << s;
    EXPECT_EQ(hak_owns(p), 1) << "malloc(" << s << ")";
    EXPECT_GE(hak_usable_size(p), s);
    std::free(p);
  }
  void *p = nullptr;
  ASSERT_EQ(posix_memalign(&p, 4096, 10000), 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4096, 0u);
  EXPECT_EQ(hak_owns(p), 1);
  std::free(p);
}

TEST(Consumer, NewAndContainersAreServedByHakmem) {
  auto v = std::make_unique<std::vector<int>>(50000, 7);
  EXPECT_EQ(hak_owns(v.get()), 1);
  EXPECT_EQ(hak_owns(v->data()), 1);
  std::string s(5000, 'q');
  EXPECT_EQ(hak_owns(s.data()), 1);
  int local = 0;
  EXPECT_EQ(hak_owns(&local), 0);
}

TEST(Consumer, ReallocKeepsContents) {
  char *p = static_cast<char *>(std::malloc(16));
  std::memcpy(p, "hakmem-consumer", 16);
  for (size_t s = 32; s <= (size_t{4} << 20); s *= 4) {
    p = static_cast<char *>(std::realloc(p, s));
    ASSERT_NE(p, nullptr);
    EXPECT_STREQ(p, "hakmem-consumer");
    EXPECT_EQ(hak_owns(p), 1);
  }
  std::free(p);
}

TEST(Consumer, BlocksFreedByAnotherThread) {
  constexpr int kPerThread = 20000;
  std::vector<std::vector<void *>> made(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kPerThread; i++) made[t].push_back(std::malloc(16 + (i * 37 + t) % 3000));
    });
  }
  for (auto &th : threads) th.join();
  for (auto &blocks : made) {
    for (void *p : blocks) {
      ASSERT_EQ(hak_owns(p), 1);
      std::free(p);
    }
  }
  hak_stats_t st;
  st.size = sizeof(st);
  hak_stats_get(&st);
  EXPECT_GT(st.os_mmap_calls, 0u);
}

}  // namespace
