// tests/fuzz/regression_test.cc — the API fuzzer's inputs as a normal test
// (any compiler, x86-64 and aarch64 under QEMU, every sanitizer): replays
// every file of tests/fuzz/corpus (the seed corpus) and tests/fuzz/regressions
// (inputs that once found a bug) through the fuzzer's own decoder and checker
// (fuzz_model.h), where a violated invariant aborts the test; runs a few
// hundred pseudo-random inputs; and proves the checker can fail (an injected
// corruption of a live block, overlapping live ranges).
//
//   bazel test //tests/fuzz:regression_test
//   bazel run //tests/fuzz:regression_test -- path/to/crash-file ...   (replays files)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/fuzz_model.h"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> g_extra_files;  // from the command line

// A data directory of this package, in the runfiles tree.
fs::path DataDir(const char* name) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  fs::path rel = fs::path("tests") / "fuzz" / name;
  if (srcdir != nullptr && ws != nullptr) {
    fs::path p = fs::path(srcdir) / ws / rel;
    if (fs::is_directory(p)) return p;
  }
  return rel;
}

std::vector<fs::path> InputFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() == ".md") continue;
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A violation aborts the test with "hakmem-fuzz: VIOLATION ..." after this
// line, which names the input.
void Replay(const fs::path& p) {
  std::vector<uint8_t> data = ReadFile(p);
  fprintf(stderr, "replaying %s (%zu bytes)\n", p.c_str(), data.size());
  hkfuzz::RunInput(data.data(), data.size());
}

TEST(FuzzRegression, ReplaysSeedCorpus) {
  std::vector<fs::path> files = InputFiles(DataDir("corpus"));
  ASSERT_GE(files.size(), 5u) << "seed corpus missing from the runfiles: " << DataDir("corpus");
  for (const fs::path& p : files) Replay(p);
}

TEST(FuzzRegression, ReplaysRegressions) {
  for (const fs::path& p : InputFiles(DataDir("regressions"))) Replay(p);
}

TEST(FuzzRegression, ReplaysCommandLineFiles) {
  for (const std::string& f : g_extra_files) Replay(f);
}

// Deterministic pseudo-random inputs: the decoder accepts any bytes, and the
// allocator passes the checks on a few hundred programs beyond the corpus.
TEST(FuzzRegression, PseudoRandomInputs) {
#if defined(__SANITIZE_THREAD__)
  const bool slow = true;
#else
  const bool slow = getenv("HAKMEM_RUN_UNDER") != nullptr;  // QEMU
#endif
  const int inputs = slow ? 64 : 256;
  uint64_t x = 0x2545F4914F6CDD1Dull;
  std::vector<uint8_t> data;
  for (int n = 0; n < inputs; n++) {
    data.resize(64 + (n * 37) % 700);
    for (uint8_t& b : data) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b = static_cast<uint8_t>(x >> 24);
    }
    hkfuzz::RunInput(data.data(), data.size());
  }
}

// The checker reports a byte flipped in a live block (what an allocator that
// writes into a block it handed out would do).
TEST(FuzzRegression, CheckerDetectsCorruptedBlock) {
  hkfuzz::Options opt;
  opt.on_violation = hkfuzz::OnViolation::kRecord;
  opt.inject_corruption = true;
  hkfuzz::SetOptions(opt);
  hkfuzz::ResetViolations();
  // malloc slot 3, 100 B (size bytes: tier 0, v = 100); free slot 3.
  const uint8_t input[] = {0x00, 0x03, 0x00, 100, 0x00, 0x03, 0x03};
  hkfuzz::RunInput(input, sizeof(input));
  const size_t violations = hkfuzz::Violations();
  const std::string first = hkfuzz::FirstViolation();
  hkfuzz::SetOptions(hkfuzz::Options());
  hkfuzz::ResetViolations();
  EXPECT_EQ(violations, 1u);
  EXPECT_NE(first.find("corrupted"), std::string::npos) << first;
  EXPECT_NE(first.find("lane A: free slot 3"), std::string::npos) << first;
}

TEST(FuzzRegression, LiveRangesDetectOverlap) {
  hkfuzz::LiveRanges r;
  uintptr_t s = 0, e = 0;
  EXPECT_TRUE(r.Insert(1000, 1100, &s, &e));
  EXPECT_TRUE(r.Insert(1100, 1200, &s, &e));  // adjacent
  EXPECT_TRUE(r.Insert(900, 1000, &s, &e));
  EXPECT_FALSE(r.Insert(1050, 1060, &s, &e));  // inside
  EXPECT_EQ(s, 1000u);
  EXPECT_EQ(e, 1100u);
  EXPECT_FALSE(r.Insert(1199, 1300, &s, &e));  // tail of the previous one
  EXPECT_EQ(s, 1100u);
  EXPECT_FALSE(r.Insert(800, 901, &s, &e));  // head of the next one
  EXPECT_EQ(s, 900u);
  EXPECT_FALSE(r.Insert(1000, 1001, &s, &e));  // same start
  EXPECT_FALSE(r.Insert(0, 5000, &s, &e));     // covers all
  EXPECT_EQ(r.Size(), 3u);
  EXPECT_TRUE(r.Remove(1100));
  EXPECT_FALSE(r.Remove(1100));
  EXPECT_TRUE(r.Insert(1150, 1160, &s, &e));
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; i++) g_extra_files.push_back(argv[i]);
  return RUN_ALL_TESTS();
}
