#!/usr/bin/env bash
# Smoke test of the soak driver (benchmarks/soak.c): usage errors (exit 2),
# the worker protocol on its own (one interval on 'g', the result line on
# 'q', an error when the controller goes away), then short real runs: hakmem
# and glibc interleaved for 3 s sampled every second (--duration=3
# --interval=1): the table has the title, one column group per series, one
# row per sample with positive ops/s and RSS, a summary row and a verdict
# line per series; the JSON has one object per series with 3 samples whose
# time grows, positive ops/s and RSS, RSS max >= RSS, and about one in four
# frees made by another thread. Then --order=sequential with 1 thread (no
# cross-thread frees) and 3 threads (the ring of rings must not hang). No
# timing assertions: only shapes, exit codes and counts.
# Usage: soak_smoke_test.sh SOAK
set -uo pipefail

if [ "$#" -ne 1 ]; then
  echo "usage: $0 SOAK" >&2
  exit 2
fi
SOAK="$1"
# shellcheck source=benchmarks/smoke_lib.sh
source "$(dirname "$0")/smoke_lib.sh"

# --- command line -----------------------------------------------------------
expect_status 0 "--help" -- "$SOAK" --help && expect_in "$TMP/out" '^usage: soak ' "--help"
expect_status 2 "unknown flag" -- "$SOAK" --bogus && expect_in "$TMP/err" '^usage: ' "unknown flag"
expect_status 2 "--iters (not a soak flag)" -- "$SOAK" --iters=5
expect_status 2 "duration not a multiple" -- "$SOAK" --duration=5 --interval=2 &&
  expect_in "$TMP/err" 'is not a multiple of --interval=2' "duration not a multiple"
expect_status 2 "interval 0" -- "$SOAK" --interval=0
expect_status 2 "unknown allocator" -- "$SOAK" --allocator=hakmem,nosuch && expect_in "$TMP/err" 'unknown "nosuch"' "unknown allocator"
expect_status 2 "unknown profile" -- "$SOAK" --profile=FAST
expect_status 2 "bad order" -- "$SOAK" --order=random

# --- the worker protocol ------------------------------------------------------
if printf 'gq' | "$SOAK" --worker=glibc --duration=1 --interval=1 --ws=256 >"$TMP/w.out" 2>"$TMP/w.err"; then
  expect_in "$TMP/w.out" '^hakmem-soak-sample k=1 ns=[1-9][0-9]{8,} ops=[1-9][0-9]* frees=[0-9]+ xfree=[0-9]+ rss_kib=[1-9][0-9]* rss_max_kib=[1-9][0-9]* live=[0-9]+ live_max=[1-9][0-9]*$' "worker sample line"
  expect_in "$TMP/w.out" '^hakmem-bench-result ops=[1-9][0-9]* ns=[1-9][0-9]* threads=2 malloc=.*libc\.so' "worker result line"
else
  fail "worker run on 'gq' failed: $(cat "$TMP/w.err")"
fi
if printf 'g' | "$SOAK" --worker=glibc --duration=2 --interval=1 --ws=256 >"$TMP/w.out" 2>"$TMP/w.err"; then
  fail "a worker whose controller went away exited 0"
else
  expect_in "$TMP/w.err" 'the controller closed the command pipe' "worker without controller"
fi

# --- hakmem and glibc, 3 s, interleaved ------------------------------------------
if expect_status 0 "hakmem,glibc run" -- "$SOAK" --allocator=hakmem,glibc --profile=LEGACY --duration=3 --interval=1 \
  --json="$TMP/soak.json"; then
  T="$TMP/out"
  expect_in "$T" '^soak: 3 s per series \(3 samples, one every 1 s\) x 2 threads, ws 8192 blocks/thread \(base 512\), seed 1, series interleaved interval by interval$' "title"
  expect_in "$T" '^op = .{20,}$' "op line"
  expect_in "$T" '^ +\| +hakmem LEGACY +\| +glibc +\|$' "column groups"
  expect_in "$T" '^  t \(s\) \|( +Mop/s +RSS +RSSmax +live \|){2}$' "column header"
  for k in 1 2 3; do
    if ! awk -v k="$k" -F'|' '$1 + 0 == k && NF == 4 {
           split($2, a, " "); split($3, b, " ");
           if (a[1] > 0 && a[2] > 0 && a[3] >= a[2] && b[1] > 0 && b[2] > 0 && b[3] >= b[2]) ok = 1 }
         END { exit !ok }' "$T"; then
      fail "no sample row t=$k with positive Mop/s and RSS <= RSSmax for both series"
      sed 's/^/  | /' "$T" >&2
    fi
  done
  expect_in "$T" '^series +median op/s +MAD +vs glibc +RSSmax +peak RSS +live max +x-thr frees$' "summary header"
  expect_in "$T" '^hakmem LEGACY +[0-9]+\.[0-9]{2} M +\+-' "hakmem summary row"
  expect_in "$T" '^glibc +[0-9]+\.[0-9]{2} M +\+-[0-9.]+ M \([0-9.]+%\) +1\.00x ' "glibc summary row"
  expect_in "$T" '^verdict hakmem LEGACY: RSS drift [-+][0-9]+\.[0-9]% \(end [0-9.]+ MiB vs middle median [0-9.]+ MiB\), ops/s drift [-+][0-9]+\.[0-9]% \(end [0-9.]+ M vs middle median [0-9.]+ M\)$' "hakmem verdict"
  expect_in "$T" '^verdict glibc: RSS drift ' "glibc verdict"
  python3 - "$TMP/soak.json" <<'PY' || failures=$((failures + 1))
import json, sys
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
check([d["allocator"] for d in lines] == ["hakmem", "glibc"], f"series {[d['allocator'] for d in lines]}")
for d in lines:
    a = d["allocator"]
    check(d["benchmark"] == "soak" and d["threads"] == 2 and d["duration_s"] == 3 and d["interval_s"] == 1
          and d["order"] == "interleaved" and d["failed_runs"] == 0, f"{a}: header fields {d}")
    check(d["profile"] == ("LEGACY" if a == "hakmem" else None), f"{a}: profile {d['profile']}")
    s = d["samples"]
    check(len(s) == 3, f"{a}: {len(s)} samples, want 3")
    ts = [x["t"] for x in s]
    check(all(0.9 < b - a_ < 1.5 for a_, b in zip([0] + ts, ts)), f"{a}: sample times {ts}")
    for x in s:
        check(x["ops"] > 0 and x["rss_kib"] > 0 and x["rss_max_kib"] >= x["rss_kib"] and x["live_max_kib"] > 0,
              f"{a}: sample {x}")
    frees, xfree = sum(x["frees"] for x in s), sum(x["xfree"] for x in s)
    check(frees > 0 and 0.15 < xfree / frees < 0.35, f"{a}: {xfree} of {frees} frees cross-thread, want ~25%")
    check(d["median_ops_per_sec"] > 0 and d["peak_rss_kib"] > 0 and d["max_rss_kib"] > 0, f"{a}: summary {d}")
    check(isinstance(d["rss_drift"], float) and isinstance(d["ops_drift"], float), f"{a}: drifts {d}")
    check(d["rss_end_kib"] == s[-1]["rss_kib"], f"{a}: rss_end_kib is not the last sample's RSS")
check(lines[1]["ratio_to_glibc"] == 1.0, f"glibc ratio {lines[1]['ratio_to_glibc']}")
for e in errors:
    print("FAIL:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
fi

# --- sequential, 1 thread: no cross-thread frees ------------------------------------
if expect_status 0 "sequential 1-thread run" -- "$SOAK" --allocator=glibc --threads=1 --duration=2 --interval=1 \
  --order=sequential --json=-; then
  expect_in "$TMP/err" 'series one after another$' "sequential title"
  expect_in "$TMP/err" '1 thread: no cross-thread frees' "1-thread sizes line"
  expect_in "$TMP/out" '"order":"sequential"' "sequential JSON"
  grep -q '"xfree":[1-9]' "$TMP/out" && fail "1 thread: cross-thread frees reported"
fi

# --- 3 threads: the ring of rings must not hang --------------------------------------
expect_status 0 "3-thread run" -- timeout 60 "$SOAK" --allocator=glibc --threads=3 --duration=1 --interval=1 &&
  expect_in "$TMP/out" '^verdict glibc: ' "3-thread verdict"

smoke_finish soak_smoke_test
