#!/usr/bin/env bash
# Checks that every BUILD, WORKSPACE and .bzl file is buildifier-formatted
# and lint-clean (warnings included). Prints nothing and exits 0 when clean.
# buildifier comes from bash tools/setup.sh (npm @bazel/buildifier).
#   bash tools/buildifier_check.sh          # check
#   buildifier --lint=fix -r .              # fix what can be fixed
# Not run by ci/test.sh yet.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v buildifier >/dev/null || { echo "buildifier_check: buildifier not found: bash tools/setup.sh" >&2; exit 2; }
exec buildifier --mode=check --lint=warn -r .
