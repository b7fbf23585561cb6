# benchmarks/smoke_lib.sh — what the drivers' smoke tests share (sourced by
# mixed_smoke_test.sh, drivers_smoke_test.sh, soak_smoke_test.sh): a scratch
# directory $TMP, a failure count, and the checks. No timing assertions.
#   fail MESSAGE                            count a failure
#   expect_status WANT WHAT -- COMMAND...   run COMMAND (stdout $TMP/out,
#                                           stderr $TMP/err); a failure when
#                                           its exit status is not WANT
#   expect_in FILE REGEX WHAT               a failure when no line matches
#   smoke_finish NAME                       the summary and exit status
# shellcheck shell=bash
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

expect_status() {
  local want="$1" what="$2"
  shift 3
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    fail "$what: exit status $got, want $want"
    sed 's/^/  stdout: /' "$TMP/out" >&2
    sed 's/^/  stderr: /' "$TMP/err" >&2
    return 1
  fi
  return 0
}

expect_in() { # FILE REGEX DESCRIPTION
  grep -Eq -- "$2" "$1" || { fail "$3: no line matching /$2/ in $(basename "$1")"; sed 's/^/  | /' "$1" >&2; }
}

# expect_row FILE ALLOCATOR DESCRIPTION: the table has a row for ALLOCATOR
# whose median op/s (third column, "<x.yy> M") is a number > 0.
expect_row() {
  local file="$1" alloc="$2" what="$3"
  if ! awk -v a="$alloc" '$1 == a && $3 ~ /^[0-9]+\.[0-9][0-9]$/ && $4 == "M" && $3 + 0 > 0 { ok = 1 } END { exit !ok }' "$file"; then
    fail "$what: no $alloc row with a positive median op/s"
    sed 's/^/  | /' "$file" >&2
  fi
}

smoke_finish() { # NAME
  if [ "$failures" -ne 0 ]; then
    echo "$1: $failures check(s) failed" >&2
    exit 1
  fi
  echo "$1: all checks passed"
  exit 0
}
