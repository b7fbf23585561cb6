#!/usr/bin/env bash
# ci/gate.sh — CI's performance regression gate (SPEC §5, issues 5 and 14).
# Builds HEAD (the working tree) -c opt: libhakmem.so and the workload
# drivers; gets a BASELINE libhakmem.so; runs tools/gate.py, which compares
# the two on every gated series (single-threaded mixed, c7_only, fixed_size,
# c6_heavy; larson, mid_large_mt and xthread with 2 threads: the list is
# tools/gate.py's DEFAULT_SERIES, and the drivers built here are the ones it
# names) on instructions/op (callgrind, fail above +3%; against the
# baseline's RECORDED value when the history has one for this compiler and
# the drivers are the baseline's), on paired, interleaved ops/s ratios
# (fail only if < 0.97 and significant, after a re-measurement) and on peak
# RSS (fail above +10% and +1 MiB, twice), and prints one line per series and
# metric with the baseline, the new value, the threshold and the evidence.
#
# Baseline (GATE_BASELINE):
#   unset   the newest recorded landing (benchmarks/history/history.jsonl,
#           tools/record.sh) that is a proper ancestor of HEAD: the chain of
#           baselines, so a drift spread over many commits is compared as a
#           whole. With none: the merge-base of HEAD with origin/main if it
#           differs from HEAD, else HEAD~1; with no parent commit, HEAD
#           against itself (said so)
#   REV     that commit
#   HEAD    the working tree against itself: one build, the same library on
#           both sides (a check of the gate on this machine's noise)
# When the baseline is a commit whose library and driver sources
# (tools/history.py SOURCE_PATHS: hakmem/, benchmarks/*.c|h|BUILD.bazel, the
# build files) are byte-identical to the working tree's, the gate passes at
# once and says so (e.g. a commit that only adds recorded history lines);
# GATE_NO_SHORTCUT=1 measures anyway.
# A commit is built in a git worktree kept at $GATE_WORKDIR/src (its own Bazel
# output base, so later runs build incrementally); its libhakmem.so is cached
# per commit and compiler in $GATE_WORKDIR/lib/, so a repeated baseline is
# not rebuilt. The drivers always come from HEAD: only the library differs.
#
# Other settings:
#   GATE_BASELINE_SRC=DIR   build the baseline from this source tree (no git)
#   GATE_INJECT_SLOWDOWN=N  build HEAD's library with N test-only delay units
#                           in malloc (--define=hakmem_gate_slowdown=N, N =
#                           1..4; +2 instructions each, +1.6% Ir/op on mixed)
#                           to check that the gate catches it (from N = 2)
#   GATE_WORKDIR=DIR        state (default ${XDG_CACHE_HOME:-~/.cache}/hakmem-gate)
#   GATE_JSON=FILE          JSON summary (default $GATE_WORKDIR/last.json)
#   GATE_ARGS="..."         extra arguments for tools/gate.py (see --help)
# Exit status: 0 pass, 1 regression, 2 usage or infrastructure error.
# Prints the wall time of each phase. On the shared 2-core machine: the
# measurement takes 10-80 s (more rounds when the machine is noisier); a
# baseline commit's first build in the worktree ~15 s, later ones incremental
# or cached; HEAD's build is whatever the working tree needs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
T0=$SECONDS

infra() {
  echo "gate: error: $*" >&2
  exit 2
}
phase_t=$SECONDS
phase() {
  echo "== gate: $* ($((SECONDS - phase_t)) s)"
  phase_t=$SECONDS
}

WORK=${GATE_WORKDIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hakmem-gate}
JSON=${GATE_JSON:-$WORK/last.json}
mkdir -p "$WORK" || infra "cannot create $WORK"
WORK=$(cd "$WORK" && pwd)
# One gate at a time per state directory (the worktree and the cache are shared).
# Bazel runs with fd 9 closed: a Bazel server started here would otherwise
# hold the lock until it exits (5 idle minutes for the baseline's).
exec 9>"$WORK/lock"
flock 9 || infra "cannot lock $WORK/lock"
RUN=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-gate.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
mkdir -p "$RUN/head" "$RUN/base" "$RUN/bin"

HIST="$ROOT/benchmarks/history/history.jsonl"
# Debian's python3 (numpy, scipy: tools/setup.sh); a pyenv python3 on PATH lacks them.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# The drivers of the gated series (named once, in tools/gate.py; GATE_ARGS
# may choose other series).
# shellcheck disable=SC2086
drivers=$("$PY" "$ROOT/tools/gate.py" --list-workloads ${GATE_ARGS:-}) || infra "tools/gate.py --list-workloads failed"
mapfile -t DRIVERS <<<"$drivers"
[ -n "${DRIVERS[0]:-}" ] || infra "tools/gate.py --list-workloads named no driver"
DRIVER_TARGETS=()
for d in "${DRIVERS[@]}"; do DRIVER_TARGETS+=("//benchmarks:$d"); done
INJECT=${GATE_INJECT_SLOWDOWN:-0}
case $INJECT in 0 | 1 | 2 | 3 | 4) ;; *) infra "GATE_INJECT_SLOWDOWN=$INJECT: want 0..4" ;; esac
INJECT_FLAGS=(--define=hakmem_gate_slowdown="$INJECT" --platform_suffix=-gate-slowdown"$INJECT")

# build_lib SRC DEST [bazel options...]: builds SRC's //hakmem:libhakmem.so
# -c opt and copies it to DEST/libhakmem.so (a copy: another build in the same
# workspace may replace bazel-bin while the gate measures).
# Another tree than ours has its own Bazel server and output base (later runs
# build incrementally there): it goes away on its own 5 minutes after the gate.
build_lib() {
  local src=$1 dest=$2 bin
  shift 2
  local startup=()
  [ "$src" = "$ROOT" ] || startup=(--max_idle_secs=300)
  (cd "$src" && bazel "${startup[@]}" build -c opt "$@" //hakmem:libhakmem.so 9>&-) || infra "building $src failed"
  bin=$(cd "$src" && bazel "${startup[@]}" info -c opt "$@" bazel-bin 2>/dev/null 9>&-) ||
    infra "bazel info failed in $src"
  cp "$bin/hakmem/libhakmem.so" "$dest/libhakmem.so" || infra "no libhakmem.so in $bin"
}

# ---- baseline: which one -----------------------------------------------------
mode=rev
rev=""
why=""
if [ -n "${GATE_BASELINE_SRC:-}" ]; then
  mode=src
  [ -f "$GATE_BASELINE_SRC/WORKSPACE" ] || infra "GATE_BASELINE_SRC=$GATE_BASELINE_SRC is not a Bazel workspace"
  why="source tree $GATE_BASELINE_SRC"
elif [ "${GATE_BASELINE:-}" = HEAD ]; then
  mode=self
  why="the working tree itself (GATE_BASELINE=HEAD)"
else
  command -v git >/dev/null || infra "git not found (needed to build the baseline commit)"
  head_sha=$(git rev-parse --verify HEAD) || infra "no HEAD commit"
  if [ -n "${GATE_BASELINE:-}" ]; then
    rev=$GATE_BASELINE
    why="GATE_BASELINE=$rev"
  else
    recorded=$("$PY" "$ROOT/tools/history.py" --history "$HIST" baseline) ||
      infra "tools/history.py baseline failed"
    mb=$(git merge-base HEAD origin/main 2>/dev/null || true)
    if [ -n "$recorded" ]; then
      rev=$recorded
      why="newest recorded landing that is a proper ancestor of HEAD ($(basename "$HIST"))"
    elif [ -n "$mb" ] && [ "$mb" != "$head_sha" ]; then
      rev=$mb
      why="merge-base with origin/main"
    elif git rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null; then
      rev=HEAD~1
      why="HEAD~1 (no recorded ancestor; HEAD is on origin/main or there is no origin/main)"
    else
      mode=self
      why="HEAD itself: HEAD has no parent commit, nothing older to compare with"
    fi
  fi
  if [ "$mode" = rev ]; then
    sha=$(git rev-parse --verify "$rev^{commit}") || infra "unknown baseline revision $rev"
  fi
fi
echo "== gate: baseline: $why${sha:+ = $sha}"
if [ "$mode" = rev ] && [ "$INJECT" = 0 ] && [ "${GATE_NO_SHORTCUT:-0}" != 1 ]; then
  if differ=$("$PY" "$ROOT/tools/history.py" identical "$sha"); then
    echo "== gate: library and driver sources identical to the baseline's ($(git rev-parse --short=12 "$sha")):" \
      "same binaries, nothing to measure"
    echo "== gate: PASS (sources identical to baseline ${sha:0:12}), total $((SECONDS - T0)) s"
    exit 0
  fi
  echo "== gate: sources differing from the baseline: $(echo "$differ" | head -8 | tr '\n' ' ')$([ "$(echo "$differ" | wc -l)" -le 8 ] || echo ...)"
fi

# ---- HEAD --------------------------------------------------------------------
bazel build -c opt //hakmem:libhakmem.so "${DRIVER_TARGETS[@]}" 9>&- || infra "building HEAD failed"
BIN=$(bazel info -c opt bazel-bin 2>/dev/null 9>&-) || infra "bazel info failed"
for d in "${DRIVERS[@]}"; do cp "$BIN/benchmarks/$d" "$RUN/bin/$d" || infra "driver $d missing"; done
cp "$BIN/hakmem/libhakmem.so" "$RUN/head/libhakmem.so" || infra "HEAD libhakmem.so missing"
head_label="working tree"
if [ "$INJECT" != 0 ]; then
  # The normal build is kept for a self baseline; HEAD gets the extra loop.
  cp "$RUN/head/libhakmem.so" "$RUN/base/libhakmem.so"
  build_lib "$ROOT" "$RUN/head" "${INJECT_FLAGS[@]}"
  head_label="working tree + injected slowdown (--define=hakmem_gate_slowdown=$INJECT)"
fi
phase "HEAD built"

# ---- baseline library ------------------------------------------------------------
case $mode in
  self)
    cp "$BIN/hakmem/libhakmem.so" "$RUN/base/libhakmem.so"
    base_label="working tree (same build)"
    ;;
  src)
    build_lib "$GATE_BASELINE_SRC" "$RUN/base"
    base_label="$GATE_BASELINE_SRC"
    ;;
  rev)
    cc_id=$( (cc --version 2>/dev/null || echo none) | head -1 | sha256sum | cut -c1-8)
    cache="$WORK/lib/$sha-$cc_id"
    if [ -f "$cache/libhakmem.so" ]; then
      echo "== gate: baseline library cached: $cache/libhakmem.so"
    else
      src="$WORK/src"
      if git worktree list --porcelain | grep -qxF "worktree $src"; then
        git -C "$src" checkout -q --detach --force "$sha" || infra "checkout of $sha in $src failed"
      else
        rm -rf "$src"
        git worktree prune
        git worktree add -q --detach --force "$src" "$sha" || infra "git worktree add $src $sha failed"
      fi
      rm -rf "$cache.tmp"
      mkdir -p "$cache.tmp" || infra "cannot create $cache.tmp"
      build_lib "$src" "$cache.tmp"
      rm -rf "$cache"
      mv "$cache.tmp" "$cache" || infra "caching the baseline library failed"
    fi
    cp "$cache/libhakmem.so" "$RUN/base/libhakmem.so"
    base_label="${sha:0:12} ($why)"
    ;;
esac
phase "baseline library ready"

# ---- measure and decide ----------------------------------------------------------
rc=0
rec_args=()
[ "$mode" != rev ] || rec_args=(--history "$HIST" --baseline-commit "$sha")
# shellcheck disable=SC2086
"$PY" "$ROOT/tools/gate.py" --head "$RUN/head" --baseline "$RUN/base" --bin "$RUN/bin" \
  --head-label "$head_label" --baseline-label "$base_label" --json "$JSON" "${rec_args[@]}" ${GATE_ARGS:-} || rc=$?
phase "measured (tools/gate.py exit $rc)"
echo "== gate: JSON summary: $JSON"
case $rc in
  0) echo "== gate: PASS, total $((SECONDS - T0)) s" ;;
  1) echo "== gate: FAIL (regression), total $((SECONDS - T0)) s" ;;
  *) echo "== gate: ERROR (exit $rc), total $((SECONDS - T0)) s" ;;
esac
exit "$rc"
