// tests/fault/hook_hidden_test.cc — the fault-injection hook of the OS layer
// (hk_os_fault_*, hakmem/core/os.h) is test-only: libhakmem.so must not
// export it (hakmem/libhakmem.lds exports the malloc family and hak_* only),
// while the public API is there.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

std::string Runfile(const char *rel) {
  const char *dir = getenv("TEST_SRCDIR");
  const char *ws = getenv("TEST_WORKSPACE");
  return std::string(dir ? dir : ".") + "/" + (ws ? ws : "hakmem") + "/" + rel;
}

TEST(HookHidden, LibhakmemDoesNotExportTheFaultHook) {
  std::string path = Runfile("hakmem/libhakmem.so");
  void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  EXPECT_NE(dlsym(h, "hak_malloc"), nullptr) << "the public API must be exported";
  EXPECT_NE(dlsym(h, "malloc"), nullptr);
  for (const char *name : {"hk_os_fault_set", "hk_os_fault_clear", "hk_os_fault_clear_all",
                           "hk_os_fault_matched", "hk_os_fault_injected", "hk_os_reserve_aligned"}) {
    EXPECT_EQ(dlsym(h, name), nullptr) << name << " is exported from libhakmem.so";
  }
  EXPECT_EQ(dlclose(h), 0);
}

}  // namespace
