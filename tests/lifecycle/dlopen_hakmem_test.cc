// libhakmem.so loaded with dlopen() into a program that did not preload it:
// the library's initial-exec TLS must fit, and its hak_* API must work from
// several threads. (Its malloc symbols do not replace the program's: that
// needs LD_PRELOAD or linking.)
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string Runfile(const char* rel) {
  const char* dir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  return std::string(dir ? dir : ".") + "/" + (ws ? ws : "hakmem") + "/" + rel;
}

TEST(DlopenHakmem, ApiWorksFromThreads) {
  std::string path = Runfile("hakmem/libhakmem.so");
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto hmalloc = reinterpret_cast<void* (*)(size_t)>(dlsym(h, "hak_malloc"));
  auto hfree = reinterpret_cast<void (*)(void*)>(dlsym(h, "hak_free"));
  auto howns = reinterpret_cast<int (*)(const void*)>(dlsym(h, "hak_owns"));
  auto version = reinterpret_cast<const char* (*)()>(dlsym(h, "hak_version"));
  ASSERT_TRUE(hmalloc && hfree && howns && version) << dlerror();
  EXPECT_EQ(std::string(version()).rfind("hakmem ", 0), 0u);
  // Internal symbols stay hidden.
  EXPECT_EQ(dlsym(h, "hk_api_malloc"), nullptr);

  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      int good = 1;
      std::vector<void*> blocks;
      for (int i = 0; i < 2000; i++) {
        size_t n = 1 + (static_cast<size_t>(i) * 7919u) % 40000u;
        void* p = hmalloc(n);
        if (p == nullptr || howns(p) != 1) good = 0;
        else memset(p, t, n);
        blocks.push_back(p);
      }
      for (void* p : blocks) hfree(p);
      ok[t] = good;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; t++) EXPECT_EQ(ok[t], 1) << "thread " << t;
  int local = 0;
  EXPECT_EQ(howns(&local), 0);
  // libhakmem.so is linked with -z nodelete: dlclose must not unmap code
  // that thread-exit destructors may still run.
  EXPECT_EQ(dlclose(h), 0);
}

}  // namespace
