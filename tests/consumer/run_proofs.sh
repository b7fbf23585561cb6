#!/usr/bin/env bash
# Runs each proof binary given as an argument; each exits 1 unless HAKMEM
# served its allocations. Prints their one-line proofs.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: run_proofs.sh BINARY..." >&2; exit 2; }
for bin in "$@"; do
  out="$("$bin")" || { echo "FAIL: $bin exited with $?" >&2; exit 1; }
  case "$out" in
    "proof: "*" allocations served by hakmem "*) echo "$(basename "$bin"): $out" ;;
    *) echo "FAIL: unexpected output from $bin: $out" >&2; exit 1 ;;
  esac
done
