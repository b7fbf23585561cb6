#!/usr/bin/env bash
# tools/gate_stacked.sh — the issue-14 experiment: why the gate's baseline is
# the recorded landing and not the parent commit. In a scratch clone of this
# repository's HEAD it
#   1. records a landing of HEAD (tools/record.sh --commit),
#   2. adds three commits, each making malloc one test-only delay unit slower
#      (hakmem/BUILD.bazel's default HAKMEM_GATE_SLOWDOWN = 1, 2, 3: +2
#      instructions per malloc each, +1.6% of mixed's Ir/op, ~1% of its time),
#   3. runs ci/gate.sh on the last commit (baseline: the recorded landing,
#      three units: should FAIL), then each commit against its parent alone
#      (GATE_BASELINE=HEAD~1, one unit: should pass),
# and prints the verdicts. Takes ~20-30 minutes on the shared 2-core machine.
#   bash tools/gate_stacked.sh [SCRATCH_DIR]      (default: a new temp dir)
# Exit status: 0 when the stacked run failed and the pairwise runs passed.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$(mktemp -d "${TMPDIR:-/tmp}/hakmem-stacked.XXXXXX")}
CLONE=$DIR/clone
export GATE_WORKDIR=$DIR/gate-state
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-gate_stacked} GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-gate@stacked}
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
log() { echo "== stacked: $*"; }
rm -rf "$CLONE"
git clone -q --no-hardlinks "$SRC" "$CLONE" || exit 2
cd "$CLONE" || exit 2
# The clone's own Bazel output base goes away 5 minutes after the experiment.
echo "startup --max_idle_secs=300" >user.bazelrc
log "recording a landing of $(git rev-parse --short=12 HEAD)"
bash tools/record.sh --commit >"$DIR/record.log" 2>&1 || {
  log "recording failed: see $DIR/record.log"
  tail -20 "$DIR/record.log"
  exit 2
}
grep -E "^== gate: (PASS|FAIL)|^record:" "$DIR/record.log"
for k in 1 2 3; do
  K=$k perl -0pi -e 's/(":gate_slowdown_4": \["HAKMEM_GATE_SLOWDOWN=4"\],\n\s*"\/\/conditions:default": )\[[^\]]*\]/$1\["HAKMEM_GATE_SLOWDOWN=$ENV{K}"\]/' \
    hakmem/BUILD.bazel
  grep -q "\"//conditions:default\": \[\"HAKMEM_GATE_SLOWDOWN=$k\"\]" hakmem/BUILD.bazel || {
    log "could not set the slowdown in hakmem/BUILD.bazel"
    exit 2
  }
  git commit -q -am "experiment: malloc $k delay unit(s) slower (HAKMEM_GATE_SLOWDOWN=$k)"
done
log "commits: $(git log --oneline -5 | tr '\n' ';')"
stacked=0
bash ci/gate.sh >"$DIR/stacked.log" 2>&1 || stacked=$?
log "stacked (3 commits vs the recorded landing): exit $stacked"
grep -E "^== gate: baseline|FAIL|^gate: (PASS|FAIL)|^== gate: (PASS|FAIL)" "$DIR/stacked.log" | grep -v "^== gate: JSON"
pair_fail=0
top=$(git rev-parse HEAD)
for k in 3 2 1; do
  rev=$(git rev-parse "$top~$((3 - k))")
  git checkout -q "$rev"
  rc=0
  GATE_BASELINE=HEAD~1 bash ci/gate.sh >"$DIR/pair$k.log" 2>&1 || rc=$?
  log "pairwise commit $k vs its parent: exit $rc"
  grep -E "FAIL|^gate: (PASS|FAIL)" "$DIR/pair$k.log"
  [ "$rc" = 0 ] || pair_fail=$((pair_fail + 1))
done
git checkout -q "$top"
log "logs in $DIR: record.log stacked.log pair1.log pair2.log pair3.log"
if [ "$stacked" = 1 ] && [ "$pair_fail" = 0 ]; then
  log "RESULT: stacked slowdowns fail against the recorded baseline; each passes against its parent"
  exit 0
fi
log "RESULT: unexpected (stacked exit $stacked, $pair_fail pairwise failure(s))"
exit 1
