#!/usr/bin/env bash
# Re-measures the golden fast-path instruction counts
# (benchmarks/golden/fastpath_ir.txt) for this machine's compiler in the two
# configurations CI checks (-c opt and the default fastbuild), after a
# deliberate change to a fast path. Review the diff and commit the file.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel run -c opt //benchmarks:fastpath_ir_test -- --update
bazel run -c fastbuild //benchmarks:fastpath_ir_test -- --update
git --no-pager diff --stat -- benchmarks/golden/fastpath_ir.txt || true
