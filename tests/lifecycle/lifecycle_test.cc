// Lifecycle with the malloc override linked in: allocations made before
// main() by constructors, by a dlopen()ed library (in its constructor too),
// and frees across the library boundary, all served by HAKMEM.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "hakmem/hakmem.h"

namespace {

void* g_before_main;

__attribute__((constructor)) void AllocateBeforeMain() {
  g_before_main = malloc(48);
  if (g_before_main) memset(g_before_main, 0x5a, 48);
}

std::string Runfile(const char* rel) {
  const char* dir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  return std::string(dir ? dir : ".") + "/" + (ws ? ws : "hakmem") + "/" + rel;
}

TEST(Lifecycle, ConstructorAllocationIsServedByHakmem) {
  ASSERT_NE(g_before_main, nullptr);
  EXPECT_EQ(hak_owns(g_before_main), 1);
  EXPECT_EQ(static_cast<unsigned char*>(g_before_main)[47], 0x5a);
  free(g_before_main);
}

TEST(Lifecycle, DlopenedLibraryAllocatesThroughHakmem) {
  std::string path = Runfile("tests/lifecycle/libplugin.so");
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto ctor_block = reinterpret_cast<char* (*)()>(dlsym(h, "plugin_ctor_block"));
  auto plugin_alloc = reinterpret_cast<void* (*)(size_t)>(dlsym(h, "plugin_alloc"));
  auto plugin_free = reinterpret_cast<void (*)(void*)>(dlsym(h, "plugin_free"));
  ASSERT_TRUE(ctor_block && plugin_alloc && plugin_free);

  char* c = ctor_block();
  ASSERT_NE(c, nullptr);
  EXPECT_STREQ(c, "plugin constructor");
  EXPECT_EQ(hak_owns(c), 1);
  free(c);  // allocated by the library's constructor, freed by the program

  for (size_t n : {1u, 100u, 1024u, 5000u, 100000u, 3u << 20}) {
    void* p = plugin_alloc(n);
    ASSERT_NE(p, nullptr) << n;
    EXPECT_EQ(hak_owns(p), 1) << n;
    memset(p, 1, n);
    free(p);  // program frees the library's block
    void* q = malloc(n);
    plugin_free(q);  // and the other way round
  }
  EXPECT_EQ(dlclose(h), 0);
}

void* ThreadBody(void*) {
  void* p = malloc(64);
  return p;  // freed by the main thread after this thread has exited
}

TEST(Lifecycle, BlockOfAnExitedThreadIsFreedByAnother) {
  hak_stats_t before{};
  before.size = sizeof(before);
  hak_stats_get(&before);
  for (int i = 0; i < 50; i++) {
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, nullptr, ThreadBody, nullptr), 0);
    void* p = nullptr;
    ASSERT_EQ(pthread_join(t, &p), 0);
    ASSERT_EQ(hak_owns(p), 1);
    free(p);
  }
  hak_stats_t after{};
  after.size = sizeof(after);
  hak_stats_get(&after);
  // Every exited thread gave its cache back.
  EXPECT_EQ(after.threads_live, before.threads_live);
}

}  // namespace
