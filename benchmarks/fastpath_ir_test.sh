#!/usr/bin/env bash
# Golden instruction counts of the allocator's fast paths (issue 14, as
# TCMalloc keeps them): callgrind runs benchmarks/fastpath_ir.c's tiny
# fixed-size loops per entry point (malloc, free, malloc+free pair, calloc,
# realloc within the class; 32 bytes) with libhakmem.so preloaded, and the
# instructions per call are compared with benchmarks/golden/fastpath_ir.txt,
# so that a change to a fast path's length is visible in review and
# deliberate. Counts are deterministic but depend on the architecture, the
# compiler and the build configuration: the file is keyed by
# ARCH/COMPILER/MODE[+CONFIG] (e.g. x86_64/gcc-12.2.0/fastbuild); a key that
# is not in the file (another compiler, a sanitizer or --config=fle build) is
# reported with its measured values and skipped. Not run on aarch64 (QEMU)
# nor where a sanitizer owns malloc (BUILD).
#
# FAILS when a count differs from the golden one by more than 1% (or 0.25
# instructions), in either direction: a fast path that got shorter is
# welcome, but the file must say so. To accept the new counts:
#   bazel run -c opt //benchmarks:fastpath_ir_test -- --update
#   bazel run -c fastbuild //benchmarks:fastpath_ir_test -- --update
# (or both: bash tools/fastpath_ir_update.sh), then commit the file.
#
# Usage (Bazel): fastpath_ir_test.sh <fastpath_ir> <libhakmem.so> <golden> <mode> <+config|none> [--update]
set -uo pipefail
PROG=$1
LIB=$2
GOLDEN=$3
MODE=$4
[ "${5:-none}" = none ] || MODE="$MODE$5"
UPDATE=0
[ "${6:-}" = --update ] && UPDATE=1
ENTRIES=(malloc free pair calloc realloc)
SIZE=32
TMP=$(mktemp -d "${TEST_TMPDIR:-/tmp}/fastpath_ir.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac }
PROG=$(abs "$PROG")
LIB=$(abs "$LIB")

command -v valgrind >/dev/null || { echo "FAIL: valgrind not installed (bash tools/setup.sh)" >&2; exit 1; }
cc=${CC:-gcc}
KEY="$(uname -m)/$($cc -dumpfullversion 2>/dev/null | head -1 | sed 's/^/gcc-/; s/ /_/g')/$MODE"
$cc --version 2>/dev/null | head -1 | grep -qi clang && KEY="$(uname -m)/clang-$($cc -dumpversion)/$MODE"

declare -A IR
for e in "${ENTRIES[@]}"; do
  out="$TMP/cg.$e"
  if ! res=$(LD_PRELOAD="$LIB" valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out" \
    "$PROG" "$e" "$SIZE" 2>"$TMP/vg.$e"); then
    echo "FAIL: $PROG $e under callgrind: $(tail -5 "$TMP/vg.$e")" >&2
    exit 1
  fi
  calls=$(sed -n 's/^fastpath-ir .* calls=\([0-9]*\)$/\1/p' <<<"$res")
  total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out" | head -1)
  [ -n "$total" ] || total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" | head -1)
  if [ -z "$calls" ] || [ -z "$total" ] || [ "$calls" -eq 0 ]; then
    echo "FAIL: no count for $e (calls='$calls' total='$total')" >&2
    exit 1
  fi
  IR[$e]=$(awk -v t="$total" -v c="$calls" 'BEGIN { printf "%.2f", t / c }')
done

echo "fast-path instructions per call ($KEY, $SIZE bytes, libhakmem.so preloaded):"
for e in "${ENTRIES[@]}"; do printf '  %-8s %8s\n' "$e" "${IR[$e]}"; done

if [ "$UPDATE" = 1 ]; then
  dest=${BUILD_WORKSPACE_DIRECTORY:+$BUILD_WORKSPACE_DIRECTORY/benchmarks/golden/fastpath_ir.txt}
  [ -n "$dest" ] || { echo "--update: run it with bazel run (BUILD_WORKSPACE_DIRECTORY unset)" >&2; exit 2; }
  { grep -v "^$KEY " "$dest" 2>/dev/null || true; for e in "${ENTRIES[@]}"; do echo "$KEY $e $SIZE ${IR[$e]}"; done; } >"$TMP/new"
  cp "$TMP/new" "$dest"
  echo "updated $dest for $KEY: review and commit it"
  exit 0
fi

if ! grep -q "^$KEY " "$GOLDEN"; then
  echo "SKIP: no golden counts for $KEY in benchmarks/golden/fastpath_ir.txt (measured above;" \
    "bazel run <same config> //benchmarks:fastpath_ir_test -- --update adds them)"
  exit 0
fi
failures=0
for e in "${ENTRIES[@]}"; do
  g=$(awk -v k="$KEY" -v e="$e" -v s="$SIZE" '$1 == k && $2 == e && $3 == s { print $4 }' "$GOLDEN")
  if [ -z "$g" ]; then
    echo "FAIL: $KEY $e $SIZE missing from the golden file" >&2
    failures=$((failures + 1))
    continue
  fi
  verdict=$(awk -v m="${IR[$e]}" -v g="$g" 'BEGIN { d = m - g; if (d < 0) d = -d; tol = 0.01 * g; if (tol < 0.25) tol = 0.25;
    printf "%s %+.2f (%+.1f%%)", (d > tol ? "CHANGED" : "ok"), m - g, 100 * (m - g) / g }')
  printf '  %-8s golden %8s  measured %8s  %s\n' "$e" "$g" "${IR[$e]}" "$verdict"
  case $verdict in CHANGED*) failures=$((failures + 1)) ;; esac
done
if [ "$failures" -gt 0 ]; then
  echo "FAIL: $failures fast-path count(s) differ from benchmarks/golden/fastpath_ir.txt beyond 1% (or 0.25)." >&2
  echo "If the change is deliberate, update the file and commit it:" >&2
  echo "  bazel run -c ${MODE%%+*} //benchmarks:fastpath_ir_test -- --update" >&2
  exit 1
fi
echo "PASS: fast paths match the golden counts ($KEY)"
