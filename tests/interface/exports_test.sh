#!/usr/bin/env bash
# libhakmem.so defines exactly the dynamic symbols of the allow-list
# (tests/interface/libhakmem.exports): `nm -D --defined-only`, every binding
# (a LOCAL symbol in .dynsym, such as the TLS variables gold used to put
# there, is listed by nm too and fails the test).
# usage: exports_test.sh LIBHAKMEM_SO ALLOW_LIST
set -euo pipefail
lib="$1" allow="$2"
[ -f "$lib" ] || { echo "exports_test: $lib not found" >&2; exit 2; }
command -v nm >/dev/null || { echo "exports_test: nm not found (binutils)" >&2; exit 2; }
export LC_ALL=C
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
nm -D --defined-only "$lib" >"$tmp/nm.txt"
# "ADDRESS TYPE NAME": the name, without a version suffix.
awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' "$tmp/nm.txt" | sort -u >"$tmp/actual"
grep -v '^#' "$allow" | sed '/^$/d' | sort -u >"$tmp/expected"
[ -s "$tmp/actual" ] || { echo "FAIL: nm -D found no defined symbol in $lib" >&2; exit 1; }
if ! diff -u "$tmp/expected" "$tmp/actual" >"$tmp/diff"; then
  echo "FAIL: the dynamic symbols of libhakmem.so differ from tests/interface/libhakmem.exports" >&2
  echo "(- only in the allow-list, + only in the library; hakmem/libhakmem.lds decides the exports):" >&2
  sed 1,2d "$tmp/diff" | grep '^[-+]' >&2
  exit 1
fi
# Every listed symbol is a global or weak definition (nm: an upper-case type).
if awk '$2 !~ /^[A-Z]$/ { bad = 1; print "  " $0 } END { exit !bad }' "$tmp/nm.txt" >&2; then
  echo "FAIL: local symbols in the dynamic symbol table (above)" >&2
  exit 1
fi
echo "PASS: $(wc -l <"$tmp/actual") dynamic symbols, exactly the allow-list"
