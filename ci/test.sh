#!/usr/bin/env bash
# The README's test command: sets the machine up, runs the whole suite on
# x86-64, cross-compiled on aarch64 under QEMU, under ASan, UBSan and TSan
# (tests that replace malloc are skipped where the sanitizer owns it; their
# hak_* twins run), the list-heavy suites with encoded free lists
# (--config=fle), a 2-minute libFuzzer run of the hak_* API (ci/fuzz.sh
# 120), then the performance regression gate (ci/gate.sh: HEAD
# against its baseline commit on instructions/op and interleaved ops/s).
# BUILD/.bzl formatting is checked first (tools/buildifier_check.sh).
# Prints the wall time of each.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
echo "== buildifier: bash tools/buildifier_check.sh"
bash tools/buildifier_check.sh
run() {
  local label=$1; shift
  local t0=$SECONDS
  echo "== $label: bazel $*"
  bazel "$@"
  echo "== $label: passed in $((SECONDS - t0)) s"
}
run x86-64 test //...
run aarch64 test --config=aarch64 //...
run asan test --config=asan //...
run ubsan test --config=ubsan //...
run tsan test --config=tsan //...
# Encoded free-list links (build option): the suites that exercise the lists.
run fle test --config=fle //tests/segment/... //tests/api/... //tests/stress/... //tests/core/... //tests/lifecycle/...
# A 2-minute libFuzzer run of the hak_* API (clang, own output base).
t0=$SECONDS
echo "== fuzz: bash ci/fuzz.sh 120"
bash ci/fuzz.sh 120
echo "== fuzz: passed in $((SECONDS - t0)) s"
t0=$SECONDS
echo "== gate: bash ci/gate.sh"
bash ci/gate.sh
echo "== gate: passed in $((SECONDS - t0)) s"
