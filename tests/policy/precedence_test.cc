// Policy box precedence rules (SPEC §3 "Policy box"): every combination of
// HAKMEM_TINY_HEAP_PROFILE x _CLASSES x _BOX x HAKMEM_TINY_C7_META_MODE x
// HAKMEM_TINY_HEAP_V2 x HAKMEM_STATS is loaded with hk_policy_load and its
// heap mask, L0 mask, meta modes, stats level and the whole class -> route
// table are compared with a separate restatement of the SPEC's rules written
// here (not derived from policy.c), plus the warnings on stderr; then a few
// unparsable values, each of which must warn once and act as if unset.
#include "hakmem/policy/policy.h"
#include "tests/policy/policy_env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

static_assert(HAK_TINY_CLASSES == 8, "C0..C7 are the tiny classes");
static_assert(HAK_SMALL_CLASSES == 26, "C0..C25: tiny then mid");

using hakmem_test::CaptureStderr;
using hakmem_test::Load;

// One variable of a combination: nullptr = not in the environment.
struct Setting {
  const char* name;
  const char* value;
};

// ---- the SPEC, restated -----------------------------------------------------
// SPEC §3 "Policy box" and README "Profiles":
//   LEGACY (default): mask 0x00, C7 meta 0, stats off
//   C7_SAFE:          mask 0x80, C7 meta 1 (SAFE), stats boundary counters
//   C7_ULTRA_BENCH:   mask 0x80, C7 meta 2 (ULTRA), stats off
//   CUSTOM:           mask 0x00 and meta 0 unless the variables say otherwise
// Names in any case; an unknown name warns and LEGACY is used.
// (1) BOX=0 disables TinyHeap; (2) explicit CLASSES wins; (3) else the
// profile's mask; (4) explicit C7_META_MODE wins over the profile's.
// HAKMEM_STATS=1: every operation counted (every route COUNTED); =0: off;
// unset: boundary under C7_SAFE, else off. HAKMEM_TINY_HEAP_V2=1: C0..C3 not
// on TinyHeap take the L0 route. C8..C25 are mid classes.
struct Spec {
  int profile = 0;  // 0 LEGACY, 1 C7_SAFE, 2 C7_ULTRA_BENCH, 3 CUSTOM
  bool bogus_profile = false;
  unsigned heap_mask = 0, l0_mask = 0, meta7 = 0, stats_level = 0;
  unsigned route[26] = {};
};

std::string Upper(const char* s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

Spec Expected(const char* profile, const char* classes, const char* box, const char* meta, const char* v2,
              const char* stats) {
  Spec s;
  unsigned prof_mask = 0x00, prof_meta = 0;
  bool prof_boundary = false;
  if (profile != nullptr) {
    std::string p = Upper(profile);
    if (p == "LEGACY") {
      s.profile = 0;
    } else if (p == "C7_SAFE") {
      s.profile = 1, prof_mask = 0x80, prof_meta = 1, prof_boundary = true;
    } else if (p == "C7_ULTRA_BENCH") {
      s.profile = 2, prof_mask = 0x80, prof_meta = 2;
    } else if (p == "CUSTOM") {
      s.profile = 3;
    } else {
      s.bogus_profile = true;  // LEGACY
    }
  }
  s.heap_mask = classes != nullptr ? static_cast<unsigned>(std::strtoul(classes, nullptr, 0)) : prof_mask;
  if (box != nullptr && std::string(box) == "0") s.heap_mask = 0;
  s.meta7 = meta != nullptr ? static_cast<unsigned>(std::atoi(meta)) : prof_meta;
  if (stats != nullptr) {
    s.stats_level = std::string(stats) == "1" ? HK_STATS_ALL : HK_STATS_OFF;
  } else {
    s.stats_level = prof_boundary ? HK_STATS_BOUNDARY : HK_STATS_OFF;
  }
  bool l0_on = v2 != nullptr && std::string(v2) == "1";
  for (unsigned c = 0; c < 26; c++) {
    unsigned r;
    if (c >= 8) {
      r = HK_ROUTE_MID;
    } else if (s.heap_mask & (1u << c)) {
      r = HK_ROUTE_HEAP;
    } else if (l0_on && c < 4) {
      r = HK_ROUTE_L0;
      s.l0_mask |= 1u << c;
    } else {
      r = HK_ROUTE_LIST;
    }
    if (s.stats_level == HK_STATS_ALL) r |= HK_ROUTE_COUNTED;
    s.route[c] = r;
  }
  return s;
}

// Differences between the loaded snapshot and the restated SPEC ("" if none).
std::string Diff(const hk_policy_t& p, const Spec& s) {
  std::ostringstream d;
  d << std::hex;
  if (p.tiny_heap_profile != static_cast<uint64_t>(s.profile)) {
    d << " profile=" << p.tiny_heap_profile << " want " << s.profile;
  }
  if (p.heap_mask != s.heap_mask) d << " heap_mask=0x" << unsigned{p.heap_mask} << " want 0x" << s.heap_mask;
  if (p.l0_mask != s.l0_mask) d << " l0_mask=0x" << unsigned{p.l0_mask} << " want 0x" << s.l0_mask;
  if (p.meta_mode[7] != s.meta7) d << " meta_mode[7]=" << unsigned{p.meta_mode[7]} << " want " << s.meta7;
  for (unsigned c = 0; c < 7; c++) {  // C6 unset, C0..C5 have no meta knob: per-op
    if (p.meta_mode[c] != HK_META_PER_OP) d << " meta_mode[" << c << "]=" << unsigned{p.meta_mode[c]};
  }
  if (p.stats_level != s.stats_level) {
    d << " stats_level=" << unsigned{p.stats_level} << " want " << s.stats_level;
  }
  for (unsigned c = 0; c < 26; c++) {
    if (p.route[c] != s.route[c]) {
      d << " route[C" << std::dec << c << std::hex << "]=0x" << unsigned{p.route[c]} << " want 0x" << s.route[c];
    }
  }
  return d.str();
}

std::string Describe(const std::vector<Setting>& settings) {
  std::string out;
  for (const Setting& s : settings) {
    out += s.value ? std::string(s.name) + "=" + s.value : std::string(s.name) + " unset";
    out += "; ";
  }
  return out;
}

std::vector<std::string> Environment(const std::vector<Setting>& settings) {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=/nonexistent"};
  for (const Setting& s : settings) {
    if (s.value != nullptr) env.push_back(std::string(s.name) + "=" + s.value);
  }
  env.push_back("LANG=C");
  return env;
}

int CountLines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST(Precedence, EveryCombinationFollowsTheSpec) {
  const std::vector<const char*> profiles = {nullptr,  "LEGACY",  "C7_SAFE", "C7_ULTRA_BENCH",
                                             "CUSTOM", "c7_safe", "BOGUS"};
  const std::vector<const char*> classes = {nullptr, "0x00", "0x40", "0x80", "0xC0", "0xFF"};
  const std::vector<const char*> boxes = {nullptr, "0", "1"};
  const std::vector<const char*> metas = {nullptr, "0", "1", "2"};
  const std::vector<const char*> v2s = {nullptr, "1"};
  const std::vector<const char*> statss = {nullptr, "0", "1"};
  int combinations = 0, failures = 0;
  for (const char* prof : profiles) {
    for (const char* cls : classes) {
      for (const char* box : boxes) {
        for (const char* meta : metas) {
          for (const char* v2 : v2s) {
            for (const char* st : statss) {
              combinations++;
              std::vector<Setting> settings = {{"HAKMEM_TINY_HEAP_PROFILE", prof},
                                               {"HAKMEM_TINY_HEAP_CLASSES", cls},
                                               {"HAKMEM_TINY_HEAP_BOX", box},
                                               {"HAKMEM_TINY_C7_META_MODE", meta},
                                               {"HAKMEM_TINY_HEAP_V2", v2},
                                               {"HAKMEM_STATS", st}};
              Spec want = Expected(prof, cls, box, meta, v2, st);
              std::vector<std::string> env = Environment(settings);
              std::string err, err_rev;
              hk_policy_t p = Load(env, &err);
              // Precedence, not "last one wins": the order of the environment
              // does not matter.
              std::reverse(env.begin(), env.end());
              hk_policy_t q = Load(env, &err_rev);

              std::string what = Diff(p, want);
              std::string what_rev = Diff(q, want);
              if (!what_rev.empty()) what += " [reversed environment:" + what_rev + "]";
              std::string want_err;
              if (want.bogus_profile) {
                if (CountLines(err) != 1 || err.rfind("hakmem: ", 0) != 0 ||
                    err.find("HAKMEM_TINY_HEAP_PROFILE=\"BOGUS\"") == std::string::npos ||
                    err.find("using LEGACY") == std::string::npos) {
                  what += " stderr: want one line naming HAKMEM_TINY_HEAP_PROFILE=\"BOGUS\" and 'using LEGACY', got '" +
                          err + "'";
                }
              } else if (!err.empty()) {
                what += " stderr: want nothing, got '" + err + "'";
              }
              if (err_rev != err) what += " stderr differs with the environment reversed: '" + err_rev + "'";
              if (!what.empty()) {
                // Print the first few in full; a systematic bug would flood.
                if (++failures <= 20) ADD_FAILURE() << Describe(settings) << "->" << what;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(combinations, 7 * 6 * 3 * 4 * 2 * 3);
  EXPECT_EQ(failures, 0) << "combinations disagreeing with the SPEC (first 20 shown above)";
}

// An unparsable or out-of-range value: one warning naming the variable and
// the value, and the snapshot is the one without the variable (the default,
// or the profile's value where the profile supplies one). Checked without a
// profile and under C7_SAFE, whose mask and meta mode are not the variables'
// own defaults.
TEST(Precedence, UnparsableValuesWarnOnceAndActAsUnset) {
  const std::vector<Setting> bad = {{"HAKMEM_TINY_HEAP_CLASSES", "0x100"},
                                    {"HAKMEM_TINY_HEAP_CLASSES", "zz"},
                                    {"HAKMEM_TINY_HEAP_CLASSES", ""},
                                    {"HAKMEM_TINY_C7_META_MODE", "3"},
                                    {"HAKMEM_TINY_C7_META_MODE", "SAFE"},
                                    {"HAKMEM_TINY_HEAP_BOX", "2"},
                                    {"HAKMEM_TINY_HEAP_V2", "-1"},
                                    {"HAKMEM_STATS", "on"},
                                    {"HAKMEM_TINY_HEAP_PROFILE", ""},
                                    {"HAKMEM_TINY_HEAP_PROFILE", "C7_SAFE "}};
  for (const char* prof : {static_cast<const char*>(nullptr), "C7_SAFE"}) {
    for (const Setting& b : bad) {
      std::vector<Setting> settings = {{"HAKMEM_TINY_HEAP_PROFILE", prof}};
      if (std::string(b.name) == "HAKMEM_TINY_HEAP_PROFILE") settings.clear();
      settings.push_back(b);
      SCOPED_TRACE(Describe(settings));
      std::string err;
      hk_policy_t p = Load(Environment(settings), &err);
      EXPECT_EQ(CountLines(err), 1) << err;
      EXPECT_EQ(err.rfind("hakmem: ", 0), 0u) << err;
      EXPECT_NE(err.find(std::string(b.name) + "=\"" + b.value + "\""), std::string::npos) << err;
      // It says what applies instead: a number, or the profile's value for the
      // variables whose default is the profile's.
      EXPECT_TRUE(err.find("; using ") != std::string::npos ||
                  err.find("; ignored, the profile's value applies") != std::string::npos)
          << err;
      const char* profile = settings.size() == 2 ? prof : nullptr;
      Spec want = Expected(profile, nullptr, nullptr, nullptr, nullptr, nullptr);
      EXPECT_EQ(Diff(p, want), "");
      uint64_t allowed = 0;  // the profile's bit, when the profile is the good variable
      for (size_t i = 0; i < hk_policy_var_count(); i++) {
        if (profile != nullptr && std::string(hk_policy_var(i)->name) == "HAKMEM_TINY_HEAP_PROFILE") {
          allowed |= uint64_t{1} << i;
        }
      }
      EXPECT_EQ(p.explicit_vars & ~allowed, 0u) << "an unparsable value must not count as set";
    }
  }
}

// The warnings are per variable: several bad values give one line each and
// the good ones beside them still apply.
TEST(Precedence, SeveralBadValuesBesideGoodOnes) {
  std::string err;
  hk_policy_t p = Load({"HAKMEM_TINY_HEAP_PROFILE=BOGUS", "HAKMEM_TINY_HEAP_CLASSES=zz",
                        "HAKMEM_TINY_C7_META_MODE=3", "HAKMEM_TINY_HEAP_V2=1", "HAKMEM_STATS=1"},
                       &err);
  EXPECT_EQ(CountLines(err), 3) << err;
  EXPECT_NE(err.find("HAKMEM_TINY_HEAP_PROFILE=\"BOGUS\""), std::string::npos) << err;
  EXPECT_NE(err.find("HAKMEM_TINY_HEAP_CLASSES=\"zz\""), std::string::npos) << err;
  EXPECT_NE(err.find("HAKMEM_TINY_C7_META_MODE=\"3\""), std::string::npos) << err;
  EXPECT_EQ(Diff(p, Expected(nullptr, nullptr, nullptr, nullptr, "1", "1")), "");
}

}  // namespace
