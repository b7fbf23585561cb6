#!/usr/bin/env bash
# The README's test command: sets the machine up, then runs the whole suite on
# x86-64 and, cross-compiled, on aarch64 under QEMU. Prints the wall time of each.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
run() {
  local label=$1; shift
  local t0=$SECONDS
  echo "== $label: bazel $*"
  bazel "$@"
  echo "== $label: passed in $((SECONDS - t0)) s"
}
run x86-64 test //...
run aarch64 test --config=aarch64 //...
