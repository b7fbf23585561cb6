#!/usr/bin/env bash
# Smoke test of //benchmarks:mixed: command-line errors exit 2 with the usage,
# a tiny run of hakmem and glibc prints the table and the JSON lines, a
# --profile list and --variant add hakmem series (rows, JSON, the variant's
# environment reaching its worker), the worker refuses to run when the
# requested allocator is not the one serving malloc. No timing assertions:
# only the shape of the output and exit codes.
set -uo pipefail

MIXED="$1"
# shellcheck source=benchmarks/smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

# --- command line ---------------------------------------------------------
expect_status 0 "--help" -- "$MIXED" --help && expect_in "$TMP/out" '^usage: ' "--help"
expect_status 2 "unknown flag" -- "$MIXED" --bogus && expect_in "$TMP/err" '^usage: ' "unknown flag"
expect_status 2 "bad profile" -- "$MIXED" --profile=NOPE && expect_in "$TMP/err" 'unknown profile "NOPE"' "bad profile"
expect_status 2 "bad allocator" -- "$MIXED" --allocator=hakmem,nope && expect_in "$TMP/err" 'unknown allocator "nope"' "bad allocator"
expect_status 2 "bad number" -- "$MIXED" --iters=10x
expect_status 2 "zero iters" -- "$MIXED" --iters=0
expect_status 2 "negative seed" -- "$MIXED" --seed=-1
expect_status 2 "min > max" -- "$MIXED" --min=100 --max=10
expect_status 2 "flag without =" -- "$MIXED" --iters 10

# --- a tiny run: table and JSON -------------------------------------------
# --json is relative to BUILD_WORKING_DIRECTORY (bazel run's caller).
if expect_status 0 "hakmem,glibc run" -- env BUILD_WORKING_DIRECTORY="$TMP" \
    "$MIXED" --allocator=hakmem,glibc --profile=C7_SAFE --iters=20000 --runs=1 --json=mixed.json; then
  T="$TMP/out"
  expect_in "$T" '^mixed: 20000 iters x 1 thread, ws 256, sizes 16\.\.1024 B, seed 1, 1 run per allocator' "table title"
  expect_in "$T" '^allocator +profile +median op/s +MAD +min\.\.max op/s +vs glibc +peak RSS$' "table header"
  expect_in "$T" '^hakmem +C7_SAFE +[0-9]+\.[0-9]{2} M +\+-[0-9.]+ M \([0-9.]+%\) +[0-9.]+\.\.[0-9.]+ M +[0-9]+\.[0-9]{2}x +[0-9]+\.[0-9] MiB$' "hakmem row"
  expect_in "$T" '^glibc +- +[0-9]+\.[0-9]{2} M +\+-[0-9.]+ M \([0-9.]+%\) +[0-9.]+\.\.[0-9.]+ M +1\.00x +[0-9]+\.[0-9] MiB$' "glibc row"
  J="$TMP/mixed.json"
  if [ ! -f "$J" ]; then
    fail "--json=mixed.json was not written to \$BUILD_WORKING_DIRECTORY"
  else
    [ "$(wc -l <"$J")" = 2 ] || fail "JSON: want 2 lines, got $(wc -l <"$J")"
    expect_in "$J" '^\{"benchmark":"mixed","allocator":"hakmem","profile":"C7_SAFE","variant":null,"variant_env":null,"arch":"(x86_64|aarch64)","op":"[^"]+","iters":20000,"ws":256,"threads":1,"seed":1,"min":16,"max":1024,"runs":1,"ops_per_sec":\[[0-9]+\],"peak_rss_kib":\[[0-9]+\],"median_ops_per_sec":[0-9]+,"mad_ops_per_sec":0,"min_ops_per_sec":[0-9]+,"max_ops_per_sec":[0-9]+,"ratio_to_glibc":[0-9.]+,"max_peak_rss_kib":[0-9]+,"failed_runs":0\}$' "JSON hakmem"
    expect_in "$J" '^\{"benchmark":"mixed","allocator":"glibc","profile":null,.*"ratio_to_glibc":1\.0000,.*"failed_runs":0\}$' "JSON glibc"
    if command -v python3 >/dev/null; then
      python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$J" || fail "JSON lines do not parse"
    fi
  fi
fi

# Without glibc in the set there is no ratio; two threads; JSON on stdout.
if expect_status 0 "hakmem only, 2 threads, --json=-" -- \
    "$MIXED" --allocator=hakmem --threads=2 --iters=5000 --ws=64 --min=1 --max=40000 --runs=2 --json=-; then
  expect_in "$TMP/out" '^\{"benchmark":"mixed","allocator":"hakmem","profile":"[A-Z0-9_]+",.*"threads":2,.*"runs":2,"ops_per_sec":\[[0-9]+,[0-9]+\],.*"ratio_to_glibc":null' "JSON on stdout"
  expect_in "$TMP/err" '^hakmem +[A-Z0-9_]+ +[0-9.]+ M .* +- +[0-9.]+ MiB$' "table on stderr without ratio"
fi

# --- profile lists and variants --------------------------------------------
# Bad --variant / --profile lists: usage, exit 2.
for bad in "--variant=l0" "--variant=:HAKMEM_TINY_HEAP_V2=1" "--variant=l0:" "--variant=l0:TINY_HEAP_V2=1" \
    "--variant=l0:HAKMEM_TINY_HEAP_V2" "--variant=l0:HAKMEM_TINY_HEAP_V2=" "--variant=l/0:HAKMEM_TINY_HEAP_V2=1" \
    "--variant=l0:HAKMEM_TINY_HEAP_V2=1,,HAKMEM_STATS=1" "--variant=l0:HAKMEM_TINY_HEAP_PROFILE=LEGACY" \
    "--variant=l0:HAKMEM_TINY_HEAP_V2=1,HAKMEM_TINY_HEAP_V2=0"; do
  expect_status 2 "bad $bad" -- "$MIXED" "$bad" && expect_in "$TMP/err" '^usage: ' "bad $bad usage"
done
expect_status 2 "duplicate variant label" -- "$MIXED" --variant=a:HAKMEM_STATS=1 --variant=a:HAKMEM_STATS=0 &&
  expect_in "$TMP/err" 'the label "a" is used twice' "duplicate variant label"
expect_status 2 "variant without hakmem" -- "$MIXED" --allocator=glibc --variant=a:HAKMEM_STATS=1 &&
  expect_in "$TMP/err" '--variant needs hakmem' "variant without hakmem"
expect_status 2 "bad profile in a list" -- "$MIXED" --profile=LEGACY,NOPE && expect_in "$TMP/err" 'unknown profile "NOPE"' "bad profile in a list"
expect_status 2 "empty profile in a list" -- "$MIXED" --profile=LEGACY, && expect_in "$TMP/err" 'unknown profile ""' "empty profile in a list"

ROW='+[0-9]+\.[0-9]{2} M +\+-[0-9.]+ M \([0-9.]+%\) +[0-9.]+\.\.[0-9.]+ M +[0-9]+\.[0-9]{2}x +[0-9]+\.[0-9] MiB$'
# Two profiles (case-insensitive, the duplicate dropped): three rows, in
# order, the hakmem ones with their profile.
if expect_status 0 "two profiles" -- \
    "$MIXED" --profile=LEGACY,c7_safe,legacy --allocator=hakmem,glibc --iters=20000 --runs=1 --json=-; then
  expect_in "$TMP/err" '^mixed: 20000 iters .*, 1 run per series \(interleaved\)$' "two profiles title"
  rows=$(grep -Ec '^(hakmem|glibc) ' "$TMP/err")
  [ "$rows" = 3 ] || fail "two profiles: want 3 table rows, got $rows"
  [ "$(grep -E '^(hakmem|glibc) ' "$TMP/err" | awk '{ printf "%s/%s ", $1, $2 }')" = "hakmem/LEGACY hakmem/C7_SAFE glibc/- " ] ||
    fail "two profiles: rows not hakmem LEGACY, hakmem C7_SAFE, glibc"
  expect_in "$TMP/err" "^hakmem +LEGACY $ROW" "LEGACY row"
  expect_in "$TMP/err" "^hakmem +C7_SAFE $ROW" "C7_SAFE row"
  expect_in "$TMP/err" "^glibc +- +[0-9]+\.[0-9]{2} M .* 1\.00x " "glibc row with two profiles"
  [ "$(wc -l <"$TMP/out")" = 3 ] || fail "two profiles: want 3 JSON lines, got $(wc -l <"$TMP/out")"
  expect_in "$TMP/out" '^\{"benchmark":"mixed","allocator":"hakmem","profile":"LEGACY","variant":null,"variant_env":null,' "JSON LEGACY"
  expect_in "$TMP/out" '^\{"benchmark":"mixed","allocator":"hakmem","profile":"C7_SAFE","variant":null,"variant_env":null,' "JSON C7_SAFE"
fi

# Variants: their own rows (first profile), after the plain hakmem rows; the
# JSON names them; --verbose shows the worker environment. HAKMEM_STATS_DUMP=1
# in one variant only: exactly one worker (that one) prints the stats dump.
if expect_status 0 "variants" -- env -u HAKMEM_STATS_DUMP -u HAKMEM_TINY_HEAP_V2 \
    "$MIXED" --allocator=hakmem,glibc --profile=C7_SAFE,LEGACY --variant=l0:HAKMEM_TINY_HEAP_V2=1 \
    --variant=l0-left.2:HAKMEM_TINY_HEAP_V2=1,HAKMEM_TINY_HEAP_V2_LEFTOVER_MODE=1,HAKMEM_STATS_DUMP=1 \
    --iters=20000 --runs=1 --json=- --verbose; then
  rows=$(grep -Ec '^(hakmem|hakmem:[^ ]+|glibc) ' "$TMP/err")
  [ "$rows" = 5 ] || fail "variants: want 5 table rows, got $rows"
  [ "$(grep -E '^(hakmem|hakmem:[^ ]+|glibc) ' "$TMP/err" | awk '{ printf "%s/%s ", $1, $2 }')" = \
    "hakmem/C7_SAFE hakmem/LEGACY hakmem:l0/C7_SAFE hakmem:l0-left.2/C7_SAFE glibc/- " ] ||
    fail "variants: rows not hakmem C7_SAFE, hakmem LEGACY, hakmem:l0, hakmem:l0-left.2, glibc"
  expect_in "$TMP/err" '^allocator {8}profile +median op/s ' "variants: allocator column as wide as hakmem:l0-left.2"
  expect_in "$TMP/err" "^hakmem:l0 +C7_SAFE $ROW" "variant l0 row"
  expect_in "$TMP/err" "^hakmem:l0-left\.2 C7_SAFE $ROW" "variant l0-left.2 row"
  expect_in "$TMP/err" ' HAKMEM_TINY_HEAP_PROFILE=C7_SAFE HAKMEM_TINY_HEAP_V2=1 [^ ]*/mixed --worker=hakmem ' "variant l0 worker environment"
  expect_in "$TMP/err" ' HAKMEM_TINY_HEAP_PROFILE=C7_SAFE HAKMEM_TINY_HEAP_V2=1 HAKMEM_TINY_HEAP_V2_LEFTOVER_MODE=1 HAKMEM_STATS_DUMP=1 [^ ]*/mixed --worker=hakmem ' "variant l0-left.2 worker environment"
  dumps=$(grep -c '^hakmem-stats ' "$TMP/err")
  [ "$dumps" = 1 ] || fail "variants: HAKMEM_STATS_DUMP=1 of one variant: want 1 stats dump, got $dumps"
  [ "$(wc -l <"$TMP/out")" = 5 ] || fail "variants: want 5 JSON lines, got $(wc -l <"$TMP/out")"
  expect_in "$TMP/out" '^\{"benchmark":"mixed","allocator":"hakmem","profile":"C7_SAFE","variant":"l0","variant_env":\{"HAKMEM_TINY_HEAP_V2":"1"\},' "JSON variant l0"
  expect_in "$TMP/out" '^\{"benchmark":"mixed","allocator":"hakmem","profile":"C7_SAFE","variant":"l0-left\.2","variant_env":\{"HAKMEM_TINY_HEAP_V2":"1","HAKMEM_TINY_HEAP_V2_LEFTOVER_MODE":"1","HAKMEM_STATS_DUMP":"1"\},' "JSON variant l0-left.2"
  expect_in "$TMP/out" '^\{"benchmark":"mixed","allocator":"glibc","profile":null,"variant":null,"variant_env":null,' "JSON glibc with variants"
  if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/out" || fail "variants: JSON lines do not parse"
  fi
fi

# --- the worker checks where malloc comes from -----------------------------
if expect_status 0 "glibc worker" -- env -u LD_PRELOAD "$MIXED" --worker=glibc --iters=1000; then
  expect_in "$TMP/out" '^hakmem-bench-result ops=1000 ns=[0-9]+ threads=1 callgrind=[01] malloc=.*libc\.so' "worker result line"
fi
expect_status 1 "hakmem worker without LD_PRELOAD" -- env -u LD_PRELOAD "$MIXED" --worker=hakmem --iters=1000 &&
  expect_in "$TMP/err" 'worker for hakmem: malloc comes from .*libc\.so' "worker allocator check"

smoke_finish mixed_smoke_test
