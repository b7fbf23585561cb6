#!/usr/bin/env bash
# ci/fuzz.sh — the API fuzzer's CI run (issue 6, item 2): builds the libFuzzer
# target //tests/fuzz:api_fuzzer with clang (--config=fuzz: libFuzzer
# coverage on every source, allocator included, plus ASan and UBSan) in a
# Bazel output base of its own, so the main output base keeps its gcc
# toolchain; then fuzzes for a bounded time from a temporary copy of the seed
# corpus tests/fuzz/corpus (the repository's corpus never grows here). The
# time is shared by allocator configurations (HAKMEM_* environment, read once
# at start-up: each is a fuzzer process of its own), one after the other on
# the same growing corpus copy.
#
#   bash ci/fuzz.sh [seconds]        default 120 (CI); nightly: 1800
#
# Environment:
#   FUZZ_CONFIGS      configurations to run (default "list heap l0steal counted
#                     checked"; names below); "list" alone = the default one
#   FUZZ_OUTPUT_BASE  Bazel output base (default ~/.cache/hakmem-fuzz/<hash of
#                     the checkout's path>)
#   FUZZ_WORKDIR      where the corpus copy, crash files and logs go
#                     (default: a new temporary directory, kept and printed)
#   FUZZ_RSS_MB       libFuzzer -rss_limit_mb (default 2048)
#   FUZZ_ARGS         more libFuzzer flags (e.g. "-len_control=0 -seed=1")
# Prints the clang build time, for each configuration libFuzzer's final
# status line (executions, cov:, ft:) and the total executions. Exits 0 when
# the time ran out without a crash; otherwise non-zero, with the crash file's
# path and how to replay it. A crash becomes a regression test by copying
# that file into tests/fuzz/regressions/ (replayed by
# //tests/fuzz:regression_test in the normal suite).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-120}
case "$secs" in
  '' | *[!0-9]*) echo "usage: ci/fuzz.sh [seconds]" >&2; exit 2 ;;
esac
# One output base per checkout (Bazel ties an output base to its workspace).
ob=${FUZZ_OUTPUT_BASE:-$HOME/.cache/hakmem-fuzz/$(pwd -P | md5sum | cut -c1-12)}
rss=${FUZZ_RSS_MB:-2048}
read -r -a configs <<<"${FUZZ_CONFIGS:-list heap l0steal counted checked}"

# The HAKMEM_* environment of each configuration (as in
# tests/stress/stress.bzl HAK_STRESS_CONFIGS; "checked": HAKMEM_CHECK=1).
config_env() {
  case "$1" in
    list) ;;
    heap) echo HAKMEM_TINY_HEAP_PROFILE=CUSTOM HAKMEM_TINY_HEAP_CLASSES=0xff ;;
    c7safe) echo HAKMEM_TINY_HEAP_PROFILE=C7_SAFE HAKMEM_TINY_HEAP_CLASSES=0xc0 HAKMEM_TINY_C6_META_MODE=1 ;;
    ultra) echo HAKMEM_TINY_HEAP_PROFILE=C7_ULTRA_BENCH HAKMEM_TINY_HEAP_CLASSES=0xc0 HAKMEM_TINY_C6_META_MODE=2 ;;
    l0steal) echo HAKMEM_TINY_HEAP_V2=1 ;;
    l0leftover) echo HAKMEM_TINY_HEAP_V2=1 HAKMEM_TINY_HEAP_V2_LEFTOVER_MODE=1 ;;
    counted) echo HAKMEM_STATS=1 HAKMEM_TINY_HEAP_V2=1 HAKMEM_TINY_HEAP_V2_STATS=1 HAKMEM_TINY_HEAP_CLASSES=0x80 ;;
    checked) echo HAKMEM_CHECK=1 ;;
    *) echo "fuzz: unknown configuration '$1'" >&2; return 1 ;;
  esac
}
for c in "${configs[@]}"; do config_env "$c" >/dev/null; done
[ ${#configs[@]} -gt 0 ] || { echo "fuzz: FUZZ_CONFIGS is empty" >&2; exit 2; }

command -v clang >/dev/null || { echo "fuzz: clang missing: install Debian's 'clang' (bash tools/setup.sh)" >&2; exit 2; }
mkdir -p "$ob"
bazel_fuzz() { bazel --output_base="$ob" --max_idle_secs=600 "$@"; }

t0=$SECONDS
echo "== fuzz: bazel --output_base=$ob build --config=fuzz //tests/fuzz:api_fuzzer"
# --symlink_prefix=/: no bazel-bin/bazel-out links in the workspace (they
# belong to the main output base).
bazel_fuzz build --config=fuzz --symlink_prefix=/ //tests/fuzz:api_fuzzer
echo "== fuzz: clang build in $((SECONDS - t0)) s"
bin="$(bazel_fuzz info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz/api_fuzzer"
[ -x "$bin" ] || { echo "fuzz: $bin not built" >&2; exit 2; }

work=${FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/hakmem-fuzz.XXXXXX")}
mkdir -p "$work/corpus" "$work/artifacts"
cp tests/fuzz/corpus/* "$work/corpus/"
per=$((secs / ${#configs[@]}))
[ "$per" -ge 1 ] || per=1
echo "== fuzz: $secs s over ${#configs[@]} configurations (${configs[*]}), corpus copy $work/corpus"

total=0
t1=$SECONDS
for c in "${configs[@]}"; do
  log="$work/fuzz-$c.log"
  read -r -a envs <<<"$(config_env "$c")"
  set +e
  # LeakSanitizer stays on: every input frees what it allocated.
  env ${envs[@]+"${envs[@]}"} "$bin" -max_total_time="$per" -rss_limit_mb="$rss" -timeout=60 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts/" ${FUZZ_ARGS:-} \
    "$work/corpus" >"$log" 2>&1
  rc=$?
  set -e
  # libFuzzer's last status line: "#<execs> DONE cov: N ft: N corp: ..."
  # (or the last progress line before a crash).
  echo "== fuzz [$c]: $(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
  execs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' || true)
  total=$((total + ${execs:-0}))
  grep -E '^stat::(average_exec_per_sec|peak_rss_mb)|^hakmem-fuzz: [0-9]+ API' "$log" | sed "s/^/   [$c] /" || true
  if [ "$rc" -ne 0 ]; then
    grep -E 'hakmem-fuzz: VIOLATION|^hakmem: |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$log" | head -n 20 || true
    crash=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n 1 | sed 's/Test unit written to //')
    echo "== fuzz [$c]: FAILED (exit status $rc); full log: $log"
    if [ -n "$crash" ]; then
      echo "== fuzz: crash input: $crash"
      echo "== fuzz: replay:  ${envs[*]:-} bazel run //tests/fuzz:regression_test -- $crash"
      echo "== fuzz: keep it: cp $crash tests/fuzz/regressions/"
    fi
    exit "$rc"
  fi
done
echo "== fuzz: passed: $total executions in $((SECONDS - t1)) s"
