#!/usr/bin/env bash
# libhakmem.so needs no C++ runtime, yet keeps operator new's contract:
#   * a preloaded C program (cat) maps neither libstdc++ nor libm;
#   * a preloaded C++ program gets new_handler calls, then std::bad_alloc,
#     from HAKMEM's operator new (cxx_new_check.cc), and the operator is
#     HAKMEM's (its symbol resolves into libhakmem.so).
# usage: cxx_new_preload_test.sh LIBHAKMEM_SO CXX_NEW_CHECK
set -euo pipefail
lib="$(readlink -f "$1")" prog="$2"
maps="$(LD_PRELOAD="$lib" /bin/cat /proc/self/maps)"
grep -qF "$lib" <<<"$maps" || { echo "FAIL: libhakmem.so not mapped in a preloaded cat" >&2; exit 1; }
if grep -E 'libstdc\+\+|libm\.so' <<<"$maps" >&2; then
  echo "FAIL: a preloaded C program maps the C++ runtime or libm (above)" >&2
  exit 1
fi
LD_PRELOAD="$lib" LD_DEBUG=bindings LD_DEBUG_OUTPUT="${TEST_TMPDIR:-/tmp}/bindings" "$prog"
grep -h "symbol \`_Znwm'" "${TEST_TMPDIR:-/tmp}"/bindings.* | grep -q "to .*libhakmem.so" \
  || { echo "FAIL: operator new (_Znwm) is not bound to libhakmem.so" >&2; exit 1; }
echo "PASS"
