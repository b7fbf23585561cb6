#!/usr/bin/env bash
# Smoke test of the multi-threaded drivers with cross-thread frees, larson
# and xthread (timed runs, see driver.h): each exits 2 with the usage on an
# unknown flag; short timed runs of hakmem and glibc at 1, 2, 4 and 8 threads
# exit 0 and print the table with both rows and a positive median op/s (no
# hang, no crash when the threads outnumber the cores); a work-bounded
# worker (--iters alone) does exactly the work asked (larson: ops and
# hand-offs; xthread: blocks, every one checked by its consumer); larson's
# positional arguments; the JSON's timed fields; the workload-specific
# usage errors. No timing assertions: only the shape of the output, counts
# and exit codes.
# Runs on x86-64 and, with --config=aarch64, under QEMU: ci/qemu_aarch64.sh
# sets HAKMEM_RUN_UNDER, which prefixes the drivers started here (the
# drivers prefix their own workers with it). Work-bounded runs are divided by
# SLOWDOWN there (3, as the stress tests' Slowdown() on aarch64).
# Usage: mt_drivers_smoke_test.sh LARSON XTHREAD
set -uo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 LARSON XTHREAD" >&2
  exit 2
fi
LARSON="$1" XTHREAD="$2"
# shellcheck source=benchmarks/smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"
# shellcheck disable=SC2206
RUN_UNDER=(${HAKMEM_RUN_UNDER:-})
SLOWDOWN=1
[ "${#RUN_UNDER[@]}" -eq 0 ] || SLOWDOWN=3

# smoke NAME BINARY UNIT EXTRA_FLAGS...: --help, unknown flag, short timed
# runs of hakmem and glibc at 1, 2, 4 and 8 threads (UNIT: what --threads
# counts in the title).
smoke() {
  local name="$1" bin="$2" unit="$3"
  shift 3
  expect_status 0 "$name --help" -- "${RUN_UNDER[@]}" "$bin" --help && expect_in "$TMP/out" '^usage: ' "$name --help"
  expect_in "$TMP/out" '--seconds=S' "$name --help lists --seconds"
  expect_status 2 "$name unknown flag" -- "${RUN_UNDER[@]}" "$bin" --bogus && expect_in "$TMP/err" '^usage: ' "$name unknown flag"
  for threads in 1 2 4 8; do
    local what="$name --threads=$threads"
    if expect_status 0 "$what" -- "${RUN_UNDER[@]}" "$bin" --allocator=hakmem,glibc --runs=1 --seconds=0.2 --threads=$threads "$@"; then
      expect_in "$TMP/out" "^$name: 0\.2 s x $threads $unit(s)?, ws [0-9]+, sizes [0-9]+\.\.[0-9]+ B.*, seed 1, 1 run per allocator" "$what table title"
      expect_in "$TMP/out" '^op = .{20,}$' "$what op line"
      expect_in "$TMP/out" '^allocator +profile +median op/s +MAD +min\.\.max op/s +vs glibc +peak RSS$' "$what table header"
      expect_row "$TMP/out" hakmem "$what"
      expect_row "$TMP/out" glibc "$what"
      expect_in "$TMP/out" '^glibc +- +[0-9]+\.[0-9]{2} M .* 1\.00x +[0-9]+\.[0-9] MiB$' "$what glibc ratio"
    fi
  done
}

# Small arrays and short thread lives: several hand-offs per lane even in 0.2 s under QEMU.
smoke larson "$LARSON" thread --ws=200 --rounds=5
smoke xthread "$XTHREAD" "producer/consumer pair" --ws=256

# --- larson ----------------------------------------------------------------------
# The defaults are what the table says (a work-bounded run: --iters alone).
iters=$((30000 / SLOWDOWN))
if expect_status 0 "larson defaults" -- "${RUN_UNDER[@]}" "$LARSON" --allocator=glibc --runs=1 --iters=$iters; then
  expect_in "$TMP/out" "^larson: $iters iters x 2 threads, ws 5000, sizes 8\.\.1000 B, rounds 100, seed 1," "larson defaults"
fi
# The customary positional order: seconds min max chunks rounds seed threads.
if expect_status 0 "larson positional" -- "${RUN_UNDER[@]}" "$LARSON" 0.2 16 64 100 3 5 3 --allocator=glibc --runs=1; then
  expect_in "$TMP/out" '^larson: 0\.2 s x 3 threads, ws 100, sizes 16\.\.64 B, rounds 3, seed 5,' "larson positional arguments"
fi
# Exactly the work asked: 3 lanes x 1050 replacements; a thread lives
# 2 x 100 of them, so each lane hands off 5 times (after 200, 400, ..., 1000).
if expect_status 0 "larson worker" -- env -u LD_PRELOAD "${RUN_UNDER[@]}" "$LARSON" --worker=glibc --threads=3 --iters=1050 --ws=100 --rounds=2; then
  expect_in "$TMP/out" '^hakmem-bench-result ops=3150 ns=[0-9]+ threads=3 ' "larson worker ops = lanes x iters"
  expect_in "$TMP/out" '^hakmem-bench-metric handoffs=15$' "larson worker hand-offs"
fi
# hakmem too (cross-thread frees of blocks whose threads are gone), with the
# JSON's timed fields.
if expect_status 0 "larson json" -- "${RUN_UNDER[@]}" "$LARSON" --allocator=hakmem,glibc --runs=1 --seconds=0.2 --ws=100 --rounds=2 --json=-; then
  expect_in "$TMP/out" '^\{"benchmark":"larson","allocator":"hakmem",.*"iters":null,.*"threads":2,.*"seconds":0\.2,"params":\{"rounds":2\},"ops_per_sec":\[[0-9]+\]' "larson JSON (hakmem)"
  expect_in "$TMP/out" '"metrics":\{"handoffs":\[[1-9][0-9]*\]\}' "larson JSON hand-off metric"
fi
expect_status 2 "larson --seconds=0" -- "${RUN_UNDER[@]}" "$LARSON" --seconds=0 &&
  expect_in "$TMP/err" 'needs --iters=N' "larson --seconds=0 without --iters"
expect_status 2 "larson --seconds=x" -- "${RUN_UNDER[@]}" "$LARSON" --seconds=1.x &&
  expect_in "$TMP/err" 'is not a number of seconds' "larson bad --seconds"
expect_status 2 "larson 8 positional" -- "${RUN_UNDER[@]}" "$LARSON" 1 8 64 100 3 5 2 9 &&
  expect_in "$TMP/err" 'unexpected argument "9"' "larson too many positional arguments"

# --- xthread ---------------------------------------------------------------------
iters=$((60000 / SLOWDOWN))
if expect_status 0 "xthread defaults" -- "${RUN_UNDER[@]}" "$XTHREAD" --allocator=glibc --runs=1 --iters=$iters; then
  expect_in "$TMP/out" "^xthread: $iters iters x 2 producer/consumer pairs, ws 1024, sizes 16\.\.4096 B, seed 1," "xthread defaults"
fi
# Exactly the work asked: 3 producers x 1000 blocks, all checked and freed.
if expect_status 0 "xthread worker" -- env -u LD_PRELOAD "${RUN_UNDER[@]}" "$XTHREAD" --worker=glibc --threads=3 --iters=1000; then
  expect_in "$TMP/out" '^hakmem-bench-result ops=3000 ns=[0-9]+ threads=3 ' "xthread worker ops = producers x iters"
fi
# A queue smaller than what a producer makes: producers wait for room.
if expect_status 0 "xthread small queue" -- "${RUN_UNDER[@]}" "$XTHREAD" --allocator=hakmem,glibc --runs=1 --ws=64 --threads=3 --iters=$((20000 / SLOWDOWN)); then
  expect_row "$TMP/out" hakmem "xthread --ws=64"
  expect_row "$TMP/out" glibc "xthread --ws=64"
fi
expect_status 2 "xthread --min=8" -- "${RUN_UNDER[@]}" "$XTHREAD" --min=8 &&
  expect_in "$TMP/err" '--min must be at least 16' "xthread --min too small"
expect_status 2 "xthread --ws=32" -- "${RUN_UNDER[@]}" "$XTHREAD" --ws=32 &&
  expect_in "$TMP/err" '--ws \(queue capacity, blocks\) must be in 64\.\.1048576' "xthread --ws too small"
expect_status 2 "xthread positional" -- "${RUN_UNDER[@]}" "$XTHREAD" 1 &&
  expect_in "$TMP/err" 'unexpected argument "1"' "xthread takes no positional arguments"

smoke_finish mt_drivers_smoke_test
