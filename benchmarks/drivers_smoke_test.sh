#!/usr/bin/env bash
# Smoke test of the workload drivers other than mixed (fixed_size, c7_only,
# c6_heavy, mid_large_mt, rss_return; mixed has its own, mixed_smoke_test.sh,
# and the timed multi-threaded drivers larson and xthread theirs,
# mt_drivers_smoke_test.sh):
# each exits 2 with the usage on an unknown flag, and a tiny run of hakmem and
# glibc exits 0 and prints the table with both rows and a positive median
# op/s. Plus the workload-specific command-line rules (fixed_size: one size).
# No timing assertions: only the shape of the output and exit codes.
# Usage: drivers_smoke_test.sh FIXED_SIZE C7_ONLY C6_HEAVY MID_LARGE_MT RSS_RETURN
set -uo pipefail

if [ "$#" -ne 5 ]; then
  echo "usage: $0 FIXED_SIZE C7_ONLY C6_HEAVY MID_LARGE_MT RSS_RETURN" >&2
  exit 2
fi
FIXED_SIZE="$1" C7_ONLY="$2" C6_HEAVY="$3" MID_LARGE_MT="$4" RSS_RETURN="$5"
# shellcheck source=benchmarks/smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

# smoke NAME BINARY EXTRA_FLAGS...: --help, unknown flag, a tiny run.
smoke() {
  local name="$1" bin="$2"
  shift 2
  expect_status 0 "$name --help" -- "$bin" --help && expect_in "$TMP/out" '^usage: ' "$name --help"
  expect_status 2 "$name unknown flag" -- "$bin" --bogus && expect_in "$TMP/err" '^usage: ' "$name unknown flag"
  if expect_status 0 "$name hakmem,glibc run" -- "$bin" --allocator=hakmem,glibc --runs=1 "$@"; then
    expect_in "$TMP/out" "^$name: [0-9]+ iters x [0-9]+ threads?, ws [0-9]+, sizes [0-9]+\.\.[0-9]+ B, seed 1, 1 run per allocator" "$name table title"
    expect_in "$TMP/out" '^op = .{20,}$' "$name op line"
    expect_in "$TMP/out" '^allocator +profile +median op/s +MAD +min\.\.max op/s +vs glibc +peak RSS$' "$name table header"
    expect_row "$TMP/out" hakmem "$name"
    expect_row "$TMP/out" glibc "$name"
    expect_in "$TMP/out" '^glibc +- +[0-9]+\.[0-9]{2} M .* 1\.00x +[0-9]+\.[0-9] MiB$' "$name glibc ratio"
  fi
}

smoke fixed_size "$FIXED_SIZE" --iters=20000
smoke c7_only "$C7_ONLY" --iters=20000
smoke c6_heavy "$C6_HEAVY" --iters=20000
smoke mid_large_mt "$MID_LARGE_MT" --iters=5000 --ws=64
# An 8 MiB working set; each run sleeps 2 s after the frees.
smoke rss_return "$RSS_RETURN" --ws=8

# --- workload-specific checks ---------------------------------------------
# The defaults are what the table says.
if expect_status 0 "fixed_size defaults" -- "$FIXED_SIZE" --allocator=glibc --runs=1 --iters=1000; then
  expect_in "$TMP/out" '^fixed_size: 1000 iters x 1 thread, ws 256, sizes 64\.\.64 B,' "fixed_size default size"
fi
expect_status 2 "fixed_size --min != --max" -- "$FIXED_SIZE" --min=64 --max=128 &&
  expect_in "$TMP/err" 'fixed_size measures one size: give --min and --max the same value' "fixed_size one size"
if expect_status 0 "fixed_size --min=--max=4096" -- "$FIXED_SIZE" --allocator=hakmem --runs=1 --iters=1000 --min=4096 --max=4096; then
  expect_in "$TMP/out" '^fixed_size: 1000 iters x 1 thread, ws 256, sizes 4096\.\.4096 B,' "fixed_size chosen size"
fi
if expect_status 0 "c7_only defaults" -- "$C7_ONLY" --allocator=glibc --runs=1 --iters=1000; then
  expect_in "$TMP/out" '^c7_only: 1000 iters x 1 thread, ws 64, sizes 1024\.\.1024 B,' "c7_only defaults"
fi
if expect_status 0 "c6_heavy defaults" -- "$C6_HEAVY" --allocator=glibc --runs=1 --iters=1000; then
  expect_in "$TMP/out" '^c6_heavy: 1000 iters x 1 thread, ws 256, sizes 257\.\.768 B,' "c6_heavy defaults"
fi
if expect_status 0 "mid_large_mt defaults" -- "$MID_LARGE_MT" --allocator=glibc --runs=1 --iters=1000; then
  expect_in "$TMP/out" '^mid_large_mt: 1000 iters x 2 threads, ws 256, sizes 8192\.\.32768 B,' "mid_large_mt defaults"
fi

# rss_return's second table: the RSS samples (MiB) of each allocator, every
# column a number; only one round and one thread.
if expect_status 0 "rss_return metrics" -- "$RSS_RETURN" --allocator=hakmem,glibc --runs=1 --ws=8; then
  expect_in "$TMP/out" '^metrics \(median of the runs\):$' "rss_return metrics title"
  expect_in "$TMP/out" '^allocator +profile +start +full +0ms +10ms +100ms +1s +2s +2s\+op +trim$' "rss_return metrics header"
  for alloc in hakmem glibc; do
    awk -v a="$alloc" '$1 == a && NF == 11 { ok = 1; for (i = 3; i <= 11; i++) if ($i !~ /^[0-9]+\.[0-9]$/) ok = 0 } END { exit !ok }' \
      "$TMP/out" || fail "rss_return metrics: no $alloc row of nine numbers"
  done
fi
expect_status 2 "rss_return --threads=2" -- "$RSS_RETURN" --threads=2 &&
  expect_in "$TMP/err" 'rss_return measures one process: --threads must be 1' "rss_return one thread"

smoke_finish drivers_smoke_test
