// Run with LD_PRELOAD=libhakmem.so (cxx_new_preload_test.sh): HAKMEM's
// operator new, whose C++ runtime calls are weak references resolved in the
// program's libstdc++, still calls the installed new_handler until it is
// removed and then throws std::bad_alloc; the nothrow form returns nullptr.
#include <cstdio>
#include <new>

namespace {
int calls = 0;
void Handler() {
  if (++calls >= 3) std::set_new_handler(nullptr);
}
}  // namespace

int main() {
  std::set_new_handler(Handler);
  bool threw = false;
  try {
    void *volatile p = ::operator new(size_t{1} << 62);
    (void)p;
  } catch (const std::bad_alloc &) {
    threw = true;
  }
  void *q = ::operator new(size_t{1} << 62, std::nothrow);
  std::printf("bad_alloc thrown: %d after %d new_handler calls; nothrow new: %p\n", threw, calls, q);
  return threw && calls == 3 && q == nullptr ? 0 : 1;
}
