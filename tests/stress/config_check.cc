// tests/stress/config_check.cc — linked into every stress variant (see
// stress.bzl): checks that the process really runs the configuration its
// target is named after. stress.bzl sets the configuration's HAKMEM_*
// variables in the test's environment and, next to them, what they must
// produce:
//   HAK_EXPECT_ROUTES       route of C0..C7, comma separated: list, heap, l0
//   HAK_EXPECT_META         meta mode of C0..C7 (0 per-op, 1 SAFE, 2 ULTRA),
//                           "-" for classes not on the TinyHeap route
//   HAK_EXPECT_STATS_LEVEL  0 off, 1 boundary events, 2 every operation
//   HAK_EXPECT_L0_COUNTED   1: L0 hits/misses/pushes are counted
//   HAK_EXPECT_L0_LEFTOVER  L0 supply mode of the policy snapshot (0, 1)
//   HAK_EXPECT_CHECKED      1: checked mode (HAKMEM_CHECK=1) is on
// The routes, meta modes and levels come from hak_front_stats_get (what the
// allocator was set up with), the supply mode from the policy snapshot.
// Then a fresh thread allocates and frees blocks of every tiny class, and
// the counters must have moved as the stats level says (and stayed at zero
// when the stats box is off).
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/stress/stress_common.h"

namespace {

using namespace hkstress;

constexpr unsigned kTiny = 8;

const char *Env(const char *name) { return getenv(name); }

std::vector<std::string> Split(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

int RouteOf(const std::string &name) {
  if (name == "list") return HAK_ROUTE_LIST;
  if (name == "heap") return HAK_ROUTE_HEAP;
  if (name == "l0") return HAK_ROUTE_L0;
  return -1;
}

const char *RouteName(unsigned r) {
  switch (r) {
    case HAK_ROUTE_LIST: return "list";
    case HAK_ROUTE_HEAP: return "heap";
    case HAK_ROUTE_L0: return "l0";
    case HAK_ROUTE_MID: return "mid";
    default: return "?";
  }
}

hak_front_stats_t FrontStats() {
  hak_front_stats_t f;
  memset(&f, 0, sizeof(f));
  f.size = sizeof(f);
  hak_front_stats_get(&f);
  return f;
}

// 200 malloc/free pairs per tiny class, in LIFO pairs and in batches of 40,
// from a thread that has never allocated (its first calls are slow paths).
void TinyWorkload() {
  for (unsigned c = 0; c < kTiny; c++) {
    const size_t size = size_t{8} << c;
    void *batch[40];
    for (unsigned round = 0; round < 5; round++) {
      for (void *&p : batch) {
        p = T_MALLOC(size);
        ASSERT_NE(p, nullptr);
        Stamp(p, size);
      }
      for (void *p : batch) {
        size_t got;
        std::string why;
        ASSERT_TRUE(Verify(p, &got, &why)) << why;
        T_FREE(p);
      }
    }
  }
}

TEST(Config, AllocatorRunsTheConfigurationOfTheTarget) {
  const char *routes_env = Env("HAK_EXPECT_ROUTES");
  ASSERT_NE(routes_env, nullptr)
      << "HAK_EXPECT_ROUTES is not set: this binary is meant to run under bazel test, where "
         "stress.bzl sets the configuration and its expectations (by hand: "
         "HAK_EXPECT_ROUTES=list,list,list,list,list,list,list,list HAK_EXPECT_META=-,-,-,-,-,-,-,- "
         "HAK_EXPECT_STATS_LEVEL=0 HAK_EXPECT_L0_COUNTED=0 HAK_EXPECT_L0_LEFTOVER=0)";
  const char *meta_env = Env("HAK_EXPECT_META");
  const char *level_env = Env("HAK_EXPECT_STATS_LEVEL");
  const char *l0_counted_env = Env("HAK_EXPECT_L0_COUNTED");
  const char *leftover_env = Env("HAK_EXPECT_L0_LEFTOVER");
  ASSERT_NE(meta_env, nullptr);
  ASSERT_NE(level_env, nullptr);
  ASSERT_NE(l0_counted_env, nullptr);
  ASSERT_NE(leftover_env, nullptr);
  const std::vector<std::string> routes = Split(routes_env);
  const std::vector<std::string> metas = Split(meta_env);
  ASSERT_EQ(routes.size(), kTiny) << "HAK_EXPECT_ROUTES=" << routes_env;
  ASSERT_EQ(metas.size(), kTiny) << "HAK_EXPECT_META=" << meta_env;

  // Initialise HAKMEM (the hak_* variant may not have allocated yet).
  T_FREE(T_MALLOC(16));
  const hak_front_stats_t before = FrontStats();
  std::string seen;
  bool expect_ultra = false;
  unsigned expect_l0_mask = 0;
  for (unsigned c = 0; c < kTiny; c++) {
    const int want = RouteOf(routes[c]);
    ASSERT_GE(want, 0) << "HAK_EXPECT_ROUTES: unknown route " << routes[c];
    seen += std::string(c ? "," : "") + RouteName(before.cls[c].route);
    EXPECT_EQ(before.cls[c].route, want)
        << "C" << c << " runs route " << RouteName(before.cls[c].route) << ", expected "
        << routes[c] << " (HAKMEM_* environment not applied?)";
    if (want == HAK_ROUTE_L0) expect_l0_mask |= 1u << c;
    if (want == HAK_ROUTE_HEAP) {
      ASSERT_TRUE(metas[c] == "0" || metas[c] == "1" || metas[c] == "2")
          << "HAK_EXPECT_META: C" << c << " is on the TinyHeap route, give its mode";
      const unsigned mode = static_cast<unsigned>(metas[c][0] - '0');
      expect_ultra |= mode == 2;
      EXPECT_EQ(before.cls[c].meta_mode, mode) << "meta mode of C" << c;
    } else {
      EXPECT_EQ(metas[c], "-") << "HAK_EXPECT_META: C" << c << " is not on the TinyHeap route";
    }
  }
  for (unsigned c = kTiny; c < HAK_STATS_CLASSES; c++) EXPECT_EQ(before.cls[c].route, HAK_ROUTE_MID);
  const unsigned level = static_cast<unsigned>(atoi(level_env));
  const bool l0_counted = atoi(l0_counted_env) != 0;
  EXPECT_EQ(before.level, level) << "stats level";
  EXPECT_EQ(before.l0_enabled, expect_l0_mask) << "L0 magazine classes";
  EXPECT_EQ(before.l0_counted != 0, l0_counted) << "L0 statistics";
  EXPECT_EQ(before.counters_maintained, expect_ultra ? 0u : 1u);
  EXPECT_EQ(hkt_stress_policy_value("HAKMEM_TINY_HEAP_V2_LEFTOVER_MODE"),
            static_cast<uint64_t>(atoi(leftover_env)))
      << "L0 supply mode in the policy snapshot";
  const char *checked_env = Env("HAK_EXPECT_CHECKED");
  ASSERT_NE(checked_env, nullptr);
  EXPECT_EQ(hkt_stress_policy_value("HAKMEM_CHECK"), static_cast<uint64_t>(atoi(checked_env)))
      << "checked mode in the policy snapshot";

  std::thread(TinyWorkload).join();
  const hak_front_stats_t after = FrontStats();
  for (unsigned c = 0; c < kTiny; c++) {
    const hak_class_stats_t &a = after.cls[c], &b = before.cls[c];
    if (level == HAK_STATS_LEVEL_OFF) {
      EXPECT_EQ(a.fast + a.slow + a.free_fast + a.free_slow, 0u)
          << "C" << c << ": the stats box is off but counted";
    } else {
      EXPECT_GT(a.slow + a.fallback, b.slow + b.fallback)
          << "C" << c << ": a new thread's first malloc was not counted as a slow path";
      EXPECT_GT(a.src_page + a.src_remote + a.src_full_scan + a.src_adopt + a.src_empty +
                    a.src_unused + a.src_new,
                b.src_page + b.src_remote + b.src_full_scan + b.src_adopt + b.src_empty +
                    b.src_unused + b.src_new)
          << "C" << c << ": no page source counted";
    }
    if (level == HAK_STATS_LEVEL_ALL) {
      EXPECT_GT(a.fast, b.fast) << "C" << c << ": fast-path mallocs not counted";
      EXPECT_GT(a.free_fast, b.free_fast) << "C" << c << ": fast-path frees not counted";
    }
    if (c < 4 && (expect_l0_mask >> c & 1u)) {
      if (l0_counted) {
        EXPECT_GT(after.l0_hit[c] + after.l0_miss[c], before.l0_hit[c] + before.l0_miss[c])
            << "C" << c << ": L0 mallocs not counted";
        EXPECT_GT(after.l0_push[c] + after.l0_pass[c], before.l0_push[c] + before.l0_pass[c])
            << "C" << c << ": L0 frees not counted";
      } else {
        EXPECT_EQ(after.l0_hit[c] + after.l0_push[c], 0u) << "C" << c << ": L0 counted while off";
      }
    }
  }
  fprintf(stderr, "config: routes %s; level %u, L0 classes 0x%x%s, counters maintained %u\n",
          seen.c_str(), before.level, before.l0_enabled,
          before.l0_counted ? " (counted)" : "", before.counters_maintained);
}

}  // namespace
