#!/usr/bin/env bash
# libhakmem.so depends on the C library only: `readelf -d` NEEDED is
# libc.so.6 (plus the dynamic loader, which some targets name). No C++
# runtime, no libm: a preloaded C program loads nothing else.
# usage: needed_test.sh LIBHAKMEM_SO
set -euo pipefail
lib="$1"
[ -f "$lib" ] || { echo "needed_test: $lib not found" >&2; exit 2; }
command -v readelf >/dev/null || { echo "needed_test: readelf not found (binutils)" >&2; exit 2; }
needed="$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')"
echo "NEEDED: $(echo $needed)"
grep -qx 'libc.so.6' <<<"$needed" || { echo "FAIL: libc.so.6 is not NEEDED" >&2; exit 1; }
extra="$(grep -vx -e 'libc.so.6' -e 'ld-linux-x86-64.so.2' -e 'ld-linux-aarch64.so.1' <<<"$needed" || true)"
if [ -n "$extra" ]; then
  echo "FAIL: libhakmem.so needs more than the C library: $(echo $extra)" >&2
  echo "(hakmem/BUILD.bazel links it with --as-needed; C++ is reached through weak references in shim.c)" >&2
  exit 1
fi
# The C++ runtime is reached through weak references only.
bad="$(readelf --dyn-syms -W "$lib" | awk '$7 == "UND" && $5 == "GLOBAL" && $8 ~ /^_Z/ { print $8 }')"
[ -z "$bad" ] || { echo "FAIL: strong undefined C++ symbols: $bad" >&2; exit 1; }
echo "PASS"
