// tests/fuzz/api_fuzzer.cc — libFuzzer target for HAKMEM's hak_* API
// (issue 6, item 2). Each input is decoded by fuzz_model.cc into a program of
// malloc / calloc / realloc / free / memalign / posix_memalign /
// aligned_alloc / usable_size calls on two threads, with blocks handed
// between them (cross-thread frees) and a shadow model that checks every
// invariant; a violation prints "hakmem-fuzz: VIOLATION ..." and aborts,
// which libFuzzer records as a crash. Built only with clang under
// --config=fuzz (ci/fuzz.sh); the same decoder replays tests/fuzz/corpus and
// tests/fuzz/regressions in //tests/fuzz:regression_test with any compiler.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "hakmem/hakmem.h"
#include "tests/fuzz/fuzz_model.h"

namespace {
void PrintOps() {
  fprintf(stderr, "hakmem-fuzz: %llu API operations executed\n",
          static_cast<unsigned long long>(hkfuzz::OpsExecuted()));
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "hakmem-fuzz: %s\n", hak_version());
  atexit(PrintOps);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hkfuzz::RunInput(data, size);
  return 0;
}
