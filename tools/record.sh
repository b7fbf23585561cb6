#!/usr/bin/env bash
# tools/record.sh — records a landing (issue 14): runs the gated series
# (ci/gate.sh: every workload class, paired and interleaved) on the current
# commit against the newest recorded landing that is its ancestor, and
# appends one "landing" line per series to benchmarks/history/history.jsonl
# (tools/record.py). Those lines are the chain of baselines CI's gate
# compares with, and what the dashboard's landing trends plot.
#
#   bash tools/record.sh                       # record HEAD (clean tree)
#   bash tools/record.sh --commit              # ... and commit history.jsonl
#   bash tools/record.sh --accept-regression='why it is worth it' [--commit]
#                                              # record a run the gate fails;
#                                              # the reason goes into the lines
#                                              # and onto the dashboard
# Other options: --force (record again, or record although the sources are
# identical to the last recorded landing's). Environment: GATE_WORKDIR as
# for ci/gate.sh.
#
# Refuses a dirty tree (hakmem/, drivers, build files: the record must be of
# a commit), a regression without --accept-regression (exit 1), and does
# nothing when HEAD is already recorded or its sources are identical to the
# newest recorded ancestor's (exit 0, said so).
# Exit status: 0 recorded or nothing to record, 1 refused, 2 error.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
HIST="$ROOT/benchmarks/history/history.jsonl"

reason=""
have_reason=0
do_commit=0
force=0
for a in "$@"; do
  case $a in
    --accept-regression=*)
      reason=${a#--accept-regression=}
      have_reason=1
      ;;
    --commit) do_commit=1 ;;
    --force) force=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "record: unknown argument $a (see --help)" >&2
      exit 2
      ;;
  esac
done
if [ "$have_reason" = 1 ] && [ -z "${reason// /}" ]; then
  echo "record: --accept-regression needs a reason" >&2
  exit 2
fi

head=$(git rev-parse --verify HEAD) || {
  echo "record: no HEAD commit" >&2
  exit 2
}
if ! dirty=$("$PY" tools/history.py identical HEAD); then
  echo "record: REFUSED: the working tree differs from HEAD in: $(echo "$dirty" | tr '\n' ' ')" >&2
  echo "record: commit (or stash) first: a landing is the record of a commit" >&2
  exit 1
fi
if [ -n "$("$PY" tools/history.py --history "$HIST" recorded "$head")" ] && [ "$force" = 0 ]; then
  echo "record: ${head:0:12} is already recorded in $HIST (--force records it again)"
  exit 0
fi
base=$("$PY" tools/history.py --history "$HIST" baseline)
if [ -n "$base" ]; then
  echo "record: baseline: newest recorded ancestor ${base:0:12}"
  if "$PY" tools/history.py identical "$base" >/dev/null && [ "$force" = 0 ]; then
    echo "record: sources identical to the recorded ${base:0:12}: nothing new to record (--force records anyway)"
    exit 0
  fi
else
  echo "record: no recorded ancestor: the first landing, measured against itself"
fi

summary=$(mktemp "${TMPDIR:-/tmp}/hakmem-record.XXXXXX.json")
trap 'rm -f "$summary"' EXIT
rc=0
GATE_BASELINE=${base:-HEAD} GATE_NO_SHORTCUT=1 GATE_INJECT_SLOWDOWN=0 GATE_JSON=$summary bash ci/gate.sh || rc=$?
if [ "$rc" -ge 2 ]; then
  echo "record: the gate failed to run (exit $rc): nothing recorded" >&2
  exit 2
fi
args=(--summary "$summary" --commit "$head" --baseline "$base" --history "$HIST")
[ "$have_reason" = 0 ] || args+=(--reason "$reason")
[ "$force" = 0 ] || args+=(--force)
"$PY" tools/record.py "${args[@]}" || exit $?

if [ "$do_commit" = 1 ]; then
  git add "$HIST"
  msg="history: record landing ${head:0:12}"
  [ "$have_reason" = 0 ] || msg="$msg (accepted regression: $reason)"
  git commit -q -m "$msg" -- "$HIST"
  echo "record: committed $(git rev-parse --short=12 HEAD): $msg"
else
  echo "record: commit it: git commit -m 'history: record landing ${head:0:12}' -- benchmarks/history/history.jsonl"
fi
