// Policy box: defaults, parsing, warnings, and the README's variable table
// checked against the box's own table (so the documentation cannot drift).
#include "hakmem/policy/policy.h"
#include "tests/policy/policy_env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hakmem/core/parse.h"

namespace {

using hakmem_test::CaptureStderr;
using hakmem_test::Load;

TEST(Parse, Bool) {
  bool v = false;
  for (const char* s : {"1", "true", "TRUE", "yes", "On"}) {
    ASSERT_TRUE(hk_parse_bool(s, &v)) << s;
    EXPECT_TRUE(v) << s;
  }
  for (const char* s : {"0", "false", "No", "OFF"}) {
    ASSERT_TRUE(hk_parse_bool(s, &v)) << s;
    EXPECT_FALSE(v) << s;
  }
  for (const char* s : std::initializer_list<const char*>{"", "2", "yess", "o", nullptr}) EXPECT_FALSE(hk_parse_bool(s, &v));
}

TEST(Parse, Numbers) {
  uint64_t v = 0;
  struct {
    const char* s;
    uint64_t want;
  } ok[] = {{"0", 0},          {"42", 42},         {"0x10", 16},         {"0XfF", 255},
            {"4k", 4096},      {"4K", 4096},       {"16M", 16u << 20},   {"2G", 2ull << 30},
            {"1KiB", 1024},    {"3MB", 3u << 20},  {"18446744073709551615", UINT64_MAX}};
  for (auto& c : ok) {
    ASSERT_TRUE(hk_parse_u64(c.s, &v)) << c.s;
    EXPECT_EQ(v, c.want) << c.s;
  }
  for (const char* s : std::initializer_list<const char*>{"", "x", "0x", "-1", "1.5", "12q", "4KK", "18446744073709551616",
                        "17179869184G", " 1", nullptr}) {
    v = 7;
    EXPECT_FALSE(hk_parse_u64(s, &v)) << (s ? s : "(null)");
    EXPECT_EQ(v, 7u);
  }
}

TEST(Policy, DefaultsWithEmptyEnvironment) {
  std::string err;
  hk_policy_t p = Load({"PATH=/bin", "HOME=/root"}, &err);
  EXPECT_EQ(err, "");
  for (size_t i = 0; i < hk_policy_var_count(); i++) {
    const hk_policy_var_t* v = hk_policy_var(i);
    EXPECT_GE(v->def, v->min) << v->name;
    EXPECT_LE(v->def, v->max) << v->name;
  }
  EXPECT_EQ(p.tiny_sll_drain_interval, 2048u);
  EXPECT_EQ(p.large_cache_bytes, 16u << 20);
}

TEST(Policy, ValuesAreParsed) {
  std::string err;
  hk_policy_t p = Load({"HAKMEM_TINY_SLL_DRAIN_INTERVAL=1024", "HAKMEM_LARGE_CACHE_BYTES=64M",
                        "HAKMEM_SS_LRU_MAX=0x10"},
                       &err);
  EXPECT_EQ(err, "");
  EXPECT_EQ(p.tiny_sll_drain_interval, 1024u);
  EXPECT_EQ(p.large_cache_bytes, 64u << 20);
  EXPECT_EQ(p.ss_lru_max, 16u);
}

TEST(Policy, BadValuesWarnOnceAndKeepDefault) {
  std::string err;
  hk_policy_t p = Load({"HAKMEM_TINY_SLL_DRAIN_INTERVAL=lots", "HAKMEM_SS_LRU_MAX=5000"}, &err);
  EXPECT_EQ(p.tiny_sll_drain_interval, 2048u);
  EXPECT_EQ(p.ss_lru_max, 4u);
  EXPECT_NE(err.find("hakmem: HAKMEM_TINY_SLL_DRAIN_INTERVAL=\"lots\" is not a number in 0..1073741824; "
                     "using 2048\n"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("HAKMEM_SS_LRU_MAX=\"5000\""), std::string::npos) << err;
  // One line per bad variable.
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2);
}

TEST(Policy, UnknownVariablesAreReportedAndIgnored) {
  std::string err;
  Load({"HAKMEM_NO_SUCH_KNOB=1", "HAKMEMX=1", "XHAKMEM_TINY=1"}, &err);
  EXPECT_EQ(err, "hakmem: unknown variable HAKMEM_NO_SUCH_KNOB ignored\n");
}

// The README's "Environment variables" table must list exactly the box's
// variables with the same defaults.
// HAKMEM_CHECK=1 sends every small class through the out-of-line (counted)
// route, whatever its base route; 0 and unset leave the routes plain.
TEST(Policy, CheckedModeMarksEveryRouteCounted) {
  for (const char* v : {"0", "1", "yes"}) {
    std::string err;
    hk_policy_t p = Load({std::string("HAKMEM_CHECK=") + v, "HAKMEM_TINY_HEAP_CLASSES=0x80",
                          "HAKMEM_TINY_HEAP_V2=1"},
                         &err);
    const bool on = std::string(v) == "1";
    EXPECT_EQ(p.check, on ? 1u : 0u) << v;
    EXPECT_EQ(err.empty(), std::string(v) != "yes") << v << ": " << err;
    for (unsigned c = 0; c < HAK_SMALL_CLASSES; c++) {
      const unsigned base = c < 4 ? HK_ROUTE_L0 : c < 7 ? HK_ROUTE_LIST : c == 7 ? HK_ROUTE_HEAP : HK_ROUTE_MID;
      EXPECT_EQ(p.route[c] & HK_ROUTE_BASE_MASK, base) << "C" << c << " HAKMEM_CHECK=" << v;
      EXPECT_EQ((p.route[c] & HK_ROUTE_COUNTED) != 0, on) << "C" << c << " HAKMEM_CHECK=" << v;
    }
  }
}

TEST(Policy, ReadmeTableMatchesTheCode) {
  std::ifstream in("README.md");
  ASSERT_TRUE(in.good()) << "README.md not in runfiles";
  std::map<std::string, std::string> doc;  // name -> default column
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| `HAKMEM_", 0) != 0) continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '|')) {
      size_t a = col.find_first_not_of(' '), b = col.find_last_not_of(' ');
      cols.push_back(a == std::string::npos ? "" : col.substr(a, b - a + 1));
    }
    ASSERT_GE(cols.size(), 5u) << line;
    std::string name = cols[1];
    name = name.substr(1, name.size() - 2);  // strip backticks
    doc[name] = cols[2];
  }
  ASSERT_EQ(doc.size(), hk_policy_var_count()) << "README table rows vs policy variables";
  for (size_t i = 0; i < hk_policy_var_count(); i++) {
    const hk_policy_var_t* v = hk_policy_var(i);
    ASSERT_TRUE(doc.count(v->name)) << v->name << " missing from README";
    if (v->names != nullptr) {  // a named value: the default column holds the name
      EXPECT_EQ(doc[v->name], v->names[v->def]) << v->name;
      continue;
    }
    uint64_t def;
    ASSERT_TRUE(hk_parse_u64(doc[v->name].c_str(), &def)) << v->name << ": " << doc[v->name];
    EXPECT_EQ(def, v->def) << v->name;
  }
}

}  // namespace
