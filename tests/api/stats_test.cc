// Stats box through the public API (hakmem/hakmem.h): per-class counters of
// hak_front_stats_get with HAKMEM_STATS=1 under the C7_SAFE profile (owner
// and remote frees, TinyHeap C7, list C3), and the text format of
// hak_stats_print, whose section and header rows are a stability contract.
// Uses the hak_* API only (no malloc override), so gtest's own allocations
// never reach HAKMEM; main() sets the environment before HAKMEM's first call
// (HAKMEM reads it once, at initialisation).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "hakmem/hakmem.h"

extern char** environ;

namespace {

// hak_front_stats_get as HAKMEM's very first call (taken in main()).
hak_front_stats_t g_first_call;

constexpr size_t kC3Size = 64;    // C3: 33..64 B, list route
constexpr size_t kC7Size = 1024;  // C7: 513..1024 B, TinyHeap under C7_SAFE
constexpr size_t kMidSize = 4096; // a mid class

hak_front_stats_t Front() {
  hak_front_stats_t f;
  std::memset(&f, 0xa5, sizeof(f));  // every field must be written
  f.size = sizeof(f);
  hak_front_stats_get(&f);
  return f;
}

hak_stats_t Global() {
  hak_stats_t g;
  std::memset(&g, 0xa5, sizeof(g));
  g.size = sizeof(g);
  hak_stats_get(&g);
  return g;
}

uint64_t Mallocs(const hak_class_stats_t& c) { return c.fast + c.slow + c.fallback + c.fail; }
uint64_t OwnerFrees(const hak_class_stats_t& c) { return c.free_fast + c.free_slow; }

int ClassOf(const hak_front_stats_t& f, size_t size) {
  for (int c = 0; c < HAK_STATS_CLASSES; c++) {
    if (f.cls[c].block_size >= size) return c;
  }
  return -1;
}

// N malloc+free pairs of one size on this thread.
void Pairs(size_t size, int n) {
  for (int i = 0; i < n; i++) {
    void* p = hak_malloc(size);
    ASSERT_NE(p, nullptr);
    std::memset(p, i, size);
    hak_free(p);
  }
}

void ExpectConfiguration(const hak_front_stats_t& f) {
  EXPECT_EQ(f.size, sizeof(f));
  EXPECT_EQ(f.level, static_cast<uint32_t>(HAK_STATS_LEVEL_ALL));
  EXPECT_EQ(f.profile, 1u);  // C7_SAFE
  EXPECT_EQ(f.counters_maintained, 1u);
  EXPECT_EQ(f.l0_enabled, 0u);
  EXPECT_EQ(f.cls[3].block_size, 64u);
  EXPECT_EQ(f.cls[7].block_size, 1024u);
  EXPECT_EQ(f.cls[7].route, HAK_ROUTE_HEAP);
  EXPECT_EQ(f.cls[7].meta_mode, 1u);  // SAFE
  for (int c = 0; c < 7; c++) EXPECT_EQ(f.cls[c].route, HAK_ROUTE_LIST) << "C" << c;
  for (int c = 8; c < HAK_STATS_CLASSES; c++) {
    EXPECT_EQ(f.cls[c].route, HAK_ROUTE_MID) << "C" << c;
    EXPECT_GT(f.cls[c].block_size, f.cls[c - 1].block_size) << "C" << c;
  }
  EXPECT_EQ(f.cls[HAK_STATS_CLASSES - 1].block_size, 32768u);
  EXPECT_EQ(ClassOf(f, kC3Size), 3);
  EXPECT_EQ(ClassOf(f, kC7Size), 7);
}

TEST(FrontStats, ConfigurationFromTheEnvironment) {
  Pairs(kC3Size, 1);  // HAKMEM is initialised whatever the test order
  ExpectConfiguration(Front());
}

// The stats call is a HAKMEM call like any other: as the process's first one
// it already reports the configuration of the environment.
TEST(FrontStats, ConfigurationAtTheFirstCall) {
  SCOPED_TRACE("hak_front_stats_get before any allocation");
  ExpectConfiguration(g_first_call);
  for (int c = 0; c < HAK_STATS_CLASSES; c++) {
    EXPECT_EQ(Mallocs(g_first_call.cls[c]) + OwnerFrees(g_first_call.cls[c]) + g_first_call.cls[c].free_remote, 0u)
        << "C" << c;
  }
}

// Level ALL counts every operation once: each malloc is fast or slow (or a
// fallback/failure), each owner-side free fast or slow. One block stays live
// during the pairs: a TinyHeap page whose last block is freed takes the slow
// path (page boundary), so without it C7 frees would never be fast.
TEST(FrontStats, EveryOperationIsCountedOnce) {
  constexpr int kN = 5000;
  for (size_t size : {kC3Size, kC7Size, kMidSize}) {
    hak_front_stats_t before = Front();
    int c = ClassOf(before, size);
    ASSERT_GE(c, 0);
    void* anchor = hak_malloc(size);
    ASSERT_NE(anchor, nullptr);
    Pairs(size, kN);
    hak_free(anchor);
    hak_front_stats_t after = Front();
    SCOPED_TRACE("size " + std::to_string(size) + " class C" + std::to_string(c));
    const hak_class_stats_t &b = before.cls[c], &a = after.cls[c];
    EXPECT_EQ(a.fast + a.slow - b.fast - b.slow, static_cast<uint64_t>(kN + 1));
    EXPECT_GT(a.fast, b.fast) << "level ALL counts the inline path";
    EXPECT_GE(a.slow, 1u) << "the first malloc of a class takes the slow path";
    EXPECT_EQ(a.fallback, b.fallback);
    EXPECT_EQ(a.fail, b.fail);
    EXPECT_EQ(a.prepare_fail, b.prepare_fail);
    EXPECT_EQ(OwnerFrees(a) - OwnerFrees(b), static_cast<uint64_t>(kN + 1));
    EXPECT_GT(a.free_fast, b.free_fast);
    EXPECT_EQ(a.free_remote, b.free_remote);
    EXPECT_GE(a.src_page + a.src_remote + a.src_full_scan + a.src_adopt + a.src_empty + a.src_unused + a.src_new,
              1u)
        << "a slow path found its blocks somewhere";
    // No other class moved.
    for (int o = 0; o < HAK_STATS_CLASSES; o++) {
      if (o == c) continue;
      EXPECT_EQ(Mallocs(after.cls[o]), Mallocs(before.cls[o])) << "C" << o;
      EXPECT_EQ(OwnerFrees(after.cls[o]), OwnerFrees(before.cls[o])) << "C" << o;
    }
  }
}

// Frees of blocks this thread allocated, done by another thread, are remote
// frees of the block's class; the owner's counters do not move.
void RemoteFrees(bool worker_allocates_first) {
  constexpr int kN = 300;
  std::vector<void*> blocks;
  for (int i = 0; i < kN; i++) {
    blocks.push_back(hak_malloc(kC3Size));
    blocks.push_back(hak_malloc(kC7Size));
    ASSERT_NE(blocks[blocks.size() - 1], nullptr);
    ASSERT_NE(blocks[blocks.size() - 2], nullptr);
  }
  hak_front_stats_t before = Front();
  std::thread worker([&] {
    if (worker_allocates_first) hak_free(hak_malloc(16));  // C1: sets the thread up
    for (void* p : blocks) hak_free(p);
  });
  worker.join();  // its counters are retired into the totals when it exits
  hak_front_stats_t after = Front();
  for (int c : {3, 7}) {
    SCOPED_TRACE("C" + std::to_string(c));
    EXPECT_EQ(after.cls[c].free_remote - before.cls[c].free_remote, static_cast<uint64_t>(kN));
    EXPECT_EQ(OwnerFrees(after.cls[c]), OwnerFrees(before.cls[c]));
    EXPECT_EQ(Mallocs(after.cls[c]), Mallocs(before.cls[c]));
  }
}

TEST(FrontStats, RemoteFreesFromAThreadThatAllocates) { RemoteFrees(true); }

// A consumer thread that only frees (producer/consumer) must be counted too.
TEST(FrontStats, RemoteFreesFromAThreadThatOnlyFrees) { RemoteFrees(false); }

// ---- the table ----------------------------------------------------------------

// hak_stats_print's output, through a temporary file (a pipe could fill up).
std::string PrintToString() {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(dir ? dir : "/tmp") + "/hakmem_stats_XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = mkstemp(name.data());
  EXPECT_GE(fd, 0) << name.data();
  if (fd < 0) return "";
  unlink(name.data());
  hak_stats_print(fd);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = pread(fd, buf, sizeof(buf), static_cast<off_t>(out.size()))) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

// A decimal unsigned integer and nothing else.
bool Integer(const std::string& w, uint64_t* v) {
  if (w.empty() || w.size() > 20) return false;
  for (char ch : w) {
    if (ch < '0' || ch > '9') return false;
  }
  *v = std::strtoull(w.c_str(), nullptr, 10);
  return true;
}

struct Section {
  std::string name;
  std::string header;
  std::vector<std::vector<std::string>> rows;
};

// The header rows: what scripts parsing the dump rely on.
const char kClassesHeader[] =
    "class size route meta share_permille fast slow fallback prepare_fail fail free_fast free_slow free_remote";
const char kSourcesHeader[] = "class size page remote full_scan adopt empty unused new oom";
const char kL0Header[] = "class enabled hit miss push pass";
const char kOsHeader[] =
    "mmap_calls munmap_calls madvise_calls mapped_bytes purged_bytes superslabs_live superslabs_cached "
    "slabs_active small_live_blocks large_live large_live_bytes large_cached_bytes threads_live";

const char* RouteName(uint8_t r) {
  switch (r) {
    case HAK_ROUTE_LIST: return "list";
    case HAK_ROUTE_HEAP: return "heap";
    case HAK_ROUTE_L0: return "l0";
    case HAK_ROUTE_MID: return "mid";
    default: return "?";
  }
}

TEST(StatsPrint, FormatAndNumbersMatchTheApi) {
  // Some traffic in several classes, a large block and a remote free, so
  // that the numbers compared below are not all zero.
  Pairs(kC3Size, 1000);
  Pairs(kC7Size, 1000);
  Pairs(kMidSize, 100);
  void* big = hak_malloc(1 << 20);
  ASSERT_NE(big, nullptr);
  void* remote = hak_malloc(kC3Size);
  std::thread([remote] {
    hak_free(hak_malloc(8));
    hak_free(remote);
  }).join();

  // Nothing goes through hak_* between these three calls, and the only
  // thread with HAKMEM caches is this one: the table must show exactly
  // these numbers.
  hak_front_stats_t f = Front();
  hak_stats_t g = Global();
  std::string text = PrintToString();
  hak_free(big);

  std::vector<std::string> lines = Split(text, '\n');
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the table ends with a newline";
  ASSERT_GE(lines.size(), 2u) << text;
  EXPECT_EQ(lines[0], "hakmem-stats 1");
  EXPECT_EQ(lines[1], "level all profile C7_SAFE counters maintained");

  std::vector<Section> sections;
  for (size_t i = 2; i < lines.size(); i++) {
    const std::string& l = lines[i];
    if (l.rfind("# ", 0) == 0) {
      sections.push_back({l.substr(2), "", {}});
      if (sections.back().name != "end" && i + 1 < lines.size()) sections.back().header = lines[++i];
    } else {
      ASSERT_FALSE(sections.empty()) << "line before the first section: " << l;
      sections.back().rows.push_back(Words(l));
    }
  }
  std::vector<std::string> names;
  for (const Section& s : sections) names.push_back(s.name);
  ASSERT_EQ(names, (std::vector<std::string>{"classes", "sources", "l0", "os", "end"})) << text;
  const Section &classes = sections[0], &sources = sections[1], &l0 = sections[2], &os = sections[3];
  EXPECT_EQ(classes.header, kClassesHeader);
  EXPECT_EQ(sources.header, kSourcesHeader);
  EXPECT_EQ(l0.header, kL0Header);
  EXPECT_EQ(os.header, kOsHeader);
  EXPECT_TRUE(sections[4].rows.empty()) << "nothing after # end";

  // # classes: C0..C25, 4 named columns then 9 integers.
  ASSERT_EQ(classes.rows.size(), static_cast<size_t>(HAK_STATS_CLASSES));
  uint64_t total = 0;
  for (int c = 0; c < HAK_STATS_CLASSES; c++) total += Mallocs(f.cls[c]);
  ASSERT_GT(total, 0u);
  for (int c = 0; c < HAK_STATS_CLASSES; c++) {
    const std::vector<std::string>& r = classes.rows[c];
    const hak_class_stats_t& k = f.cls[c];
    SCOPED_TRACE("classes row C" + std::to_string(c));
    ASSERT_EQ(r.size(), Words(kClassesHeader).size());
    EXPECT_EQ(r[0], "C" + std::to_string(c));
    uint64_t v[11];
    ASSERT_TRUE(Integer(r[1], &v[0])) << r[1];
    EXPECT_EQ(v[0], k.block_size);
    EXPECT_EQ(r[2], RouteName(k.route));
    EXPECT_EQ(r[3], c == 7 ? "safe" : "-");
    for (int i = 0; i < 9; i++) ASSERT_TRUE(Integer(r[4 + i], &v[1 + i])) << r[4 + i];
    EXPECT_EQ(v[1], Mallocs(k) * 1000 / total) << "share_permille";
    EXPECT_EQ(v[2], k.fast);
    EXPECT_EQ(v[3], k.slow);
    EXPECT_EQ(v[4], k.fallback);
    EXPECT_EQ(v[5], k.prepare_fail);
    EXPECT_EQ(v[6], k.fail);
    EXPECT_EQ(v[7], k.free_fast);
    EXPECT_EQ(v[8], k.free_slow);
    EXPECT_EQ(v[9], k.free_remote);
  }
  EXPECT_GE(f.cls[3].fast + f.cls[3].slow, 1001u);
  EXPECT_GE(f.cls[3].free_remote, 1u);

  // # sources: C0..C25, class and size then 8 integers.
  ASSERT_EQ(sources.rows.size(), static_cast<size_t>(HAK_STATS_CLASSES));
  for (int c = 0; c < HAK_STATS_CLASSES; c++) {
    const std::vector<std::string>& r = sources.rows[c];
    const hak_class_stats_t& k = f.cls[c];
    SCOPED_TRACE("sources row C" + std::to_string(c));
    ASSERT_EQ(r.size(), Words(kSourcesHeader).size());
    EXPECT_EQ(r[0], "C" + std::to_string(c));
    uint64_t v[9];
    for (int i = 0; i < 9; i++) ASSERT_TRUE(Integer(r[1 + i], &v[i])) << r[1 + i];
    const uint64_t want[9] = {k.block_size, k.src_page,  k.src_remote, k.src_full_scan, k.src_adopt,
                              k.src_empty,  k.src_unused, k.src_new,   k.src_oom};
    for (int i = 0; i < 9; i++) EXPECT_EQ(v[i], want[i]) << Words(kSourcesHeader)[1 + i];
  }

  // # l0: C0..C3.
  ASSERT_EQ(l0.rows.size(), 4u);
  for (int c = 0; c < 4; c++) {
    const std::vector<std::string>& r = l0.rows[c];
    SCOPED_TRACE("l0 row C" + std::to_string(c));
    ASSERT_EQ(r.size(), Words(kL0Header).size());
    EXPECT_EQ(r[0], "C" + std::to_string(c));
    uint64_t v[5];
    for (int i = 0; i < 5; i++) ASSERT_TRUE(Integer(r[1 + i], &v[i])) << r[1 + i];
    const uint64_t want[5] = {(f.l0_enabled >> c) & 1u, f.l0_hit[c], f.l0_miss[c], f.l0_push[c], f.l0_pass[c]};
    for (int i = 0; i < 5; i++) EXPECT_EQ(v[i], want[i]) << Words(kL0Header)[1 + i];
  }

  // # os: one row of 13 integers, hak_stats_get's numbers.
  ASSERT_EQ(os.rows.size(), 1u);
  ASSERT_EQ(os.rows[0].size(), Words(kOsHeader).size());
  uint64_t v[13];
  for (int i = 0; i < 13; i++) ASSERT_TRUE(Integer(os.rows[0][i], &v[i])) << os.rows[0][i];
  const uint64_t want[13] = {g.os_mmap_calls,     g.os_munmap_calls,   g.os_madvise_calls, g.os_mapped_bytes,
                             g.os_purged_bytes,   g.superslabs_live,   g.superslabs_cached, g.slabs_active,
                             g.small_live_blocks, g.large_live,        g.large_live_bytes, g.large_cached_bytes,
                             g.threads_live};
  for (int i = 0; i < 13; i++) EXPECT_EQ(v[i], want[i]) << Words(kOsHeader)[i];
  EXPECT_GE(g.large_live, 1u);
  EXPECT_GE(g.os_mmap_calls, 1u);
  EXPECT_EQ(g.threads_live, 1u);
}

}  // namespace

int main(int argc, char** argv) {
  // HAKMEM reads its environment once, at the first hak_* call: set it
  // before anything else, with no other HAKMEM_* variable around.
  std::vector<std::string> inherited;
  for (char** e = environ; *e != nullptr; e++) {
    if (std::strncmp(*e, "HAKMEM_", 7) == 0) inherited.emplace_back(*e, std::strcspn(*e, "="));
  }
  for (const std::string& name : inherited) unsetenv(name.c_str());
  setenv("HAKMEM_STATS", "1", 1);
  setenv("HAKMEM_TINY_HEAP_PROFILE", "C7_SAFE", 1);
  g_first_call.size = sizeof(g_first_call);
  hak_front_stats_get(&g_first_call);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
