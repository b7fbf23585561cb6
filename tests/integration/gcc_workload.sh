#!/usr/bin/env bash
# Compiler workload for the LD_PRELOAD tests: gcc (driver, cc1, as, ld) and
# g++ (cc1plus) compile a generated C file with hundreds of functions and a
# C++ program using the standard containers; the compiled programs then run
# (under LD_PRELOAD the C++ one allocates through HAKMEM's operator new and
# delete). Prints the programs' output and digests of the object code, which
# must not depend on the allocator. Run with and without libhakmem.so in
# LD_PRELOAD: the outputs must be identical.
#
# usage: gcc_workload.sh WORKDIR    (WORKDIR is created; must not exist)
set -euo pipefail
export LC_ALL=C
work="$1"
mkdir "$work"
cd "$work"
CC="${CC:-gcc}"
CXX="${CXX:-g++}"

# 250 functions with loops, switches and local arrays, and a main that calls
# them all: enough work for the optimiser's data structures.
awk 'BEGIN {
  print "#include <stdio.h>"
  print "#include <stdlib.h>"
  print "#include <string.h>"
  for (f = 0; f < 250; f++) {
    printf "static unsigned long fn%d(unsigned long x) {\n", f
    printf "  unsigned long a[%d]; unsigned long acc = %d;\n", 8 + f % 24, f
    printf "  for (int i = 0; i < %d; i++) a[i] = x * %d + (unsigned long)i * i;\n", 8 + f % 24, 2 * f + 1
    printf "  for (int i = 0; i < %d; i++) {\n    switch ((a[i] + acc) %% 7) {\n", 8 + f % 24
    for (c = 0; c < 7; c++) printf "    case %d: acc = acc * %d + a[i] %s %d; break;\n", c, 3 + c + f % 5, (c % 2 ? "^" : "+"), f * 31 + c
    print "    }\n  }"
    if (f > 0) printf "  if (x %% 3 == 0) acc ^= fn%d(x / 3);\n", f - 1
    print "  return acc;\n}"
  }
  print "int main(void) {"
  print "  unsigned long total = 0;"
  print "  char *buf = malloc(1 << 20);"
  print "  for (int i = 0; i < 1 << 20; i++) buf[i] = (char)(i * 7);"
  for (f = 0; f < 250; f++) printf "  total += fn%d(%d);\n", f, f * 13 + 5
  print "  for (int i = 0; i < 1 << 20; i++) total += (unsigned char)buf[i];"
  print "  free(buf);"
  print "  printf(\"total %lu\\n\", total);"
  print "  return 0;"
  print "}"
}' >gen.c

cat >prog.cc <<'EOF'
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

int main() {
  std::map<std::string, std::vector<int>> m;
  std::unordered_map<int, std::string> u;
  unsigned x = 7;
  for (int i = 0; i < 200000; i++) {
    x = x * 1103515245u + 12345u;
    std::string k = "key" + std::to_string(x % 5000);
    m[k].push_back(static_cast<int>(x % 1000));
    u[static_cast<int>(x % 20000)] += static_cast<char>('a' + x % 26);
  }
  std::vector<std::unique_ptr<std::string>> big;
  for (int i = 0; i < 64; i++) big.push_back(std::make_unique<std::string>((i + 1) * 40000, 'a' + i % 26));
  unsigned long sum = 0, longest = 0;
  for (auto &kv : m) {
    std::sort(kv.second.begin(), kv.second.end());
    sum += kv.second.size() * kv.second.front() + kv.second.back();
  }
  for (auto &kv : u) longest = std::max<unsigned long>(longest, kv.second.size());
  for (auto &s : big) sum += s->size();
  std::printf("map %zu unordered %zu sum %lu longest %lu\n", m.size(), u.size(), sum, longest);
  return 0;
}
EOF

echo "== c"
"$CC" -O2 -c gen.c -o gen.o
"$CC" gen.o -o gen
./gen
sha256sum gen.o
echo "== c++"
"$CXX" -std=c++17 -O1 -c prog.cc -o prog.o
"$CXX" prog.o -o prog
./prog
sha256sum prog.o
echo "== done"
