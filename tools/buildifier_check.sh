#!/usr/bin/env bash
# Checks that every BUILD, WORKSPACE and .bzl file is buildifier-formatted
# (ci/test.sh runs this first). With --lint, also prints buildifier's lint
# warnings and fails on any: today the native py_*/sh_* rules and
# CcInfo/cc_common still warn (Debian's Bazel 4.2.3 has no rules_python
# offline; see the README's known limits), so --lint is not in CI yet.
# buildifier comes from bash tools/setup.sh (npm @bazel/buildifier).
#   bash tools/buildifier_check.sh          # format check
#   bash tools/buildifier_check.sh --lint   # format and lint
#   buildifier -r .                         # fix the formatting
set -euo pipefail
cd "$(dirname "$0")/.."
command -v buildifier >/dev/null || { echo "buildifier_check: buildifier not found: bash tools/setup.sh" >&2; exit 2; }
if [ "${1:-}" = "--lint" ]; then
  exec buildifier --mode=check --lint=warn -r .
fi
if ! buildifier --mode=check -r .; then
  echo "buildifier_check: the files above are not formatted: buildifier -r ." >&2
  exit 1
fi
