#!/usr/bin/env bash
# Builds and tests tests/consumer -- a separate Bazel workspace that depends
# on HAKMEM as `local_repository(name = "hakmem", path = "../..")` and gets
# everything else from `hakmem_deps()` -- with a nested Bazel, exactly as a
# user would: `bazel test //...` in that directory. It checks that
#   * both cc_binary forms (`malloc = "@hakmem//hakmem:malloc_shim"` and
#     malloc_shim in `deps`) link and are served by HAKMEM (proof_test runs
#     them; they exit 1 unless hak_owns() claims their allocations);
#   * cc_tests with GoogleTest from @com_google_googletest, in Bazel's default
#     dynamic link mode, with malloc_shim through `malloc =` and `deps`.
# One nested invocation in --batch mode (no server is left behind, even if
# this test is killed), with its own output root under TEST_TMPDIR and a
# clean environment (no user or outer-test configuration leaks in).
#
# usage: consumer_test.sh PATH_TO_deps.bzl   ($(rootpath //:deps.bzl): a
# runfile symlink into the source tree, which locates the repository root)
set -uo pipefail

die() { printf 'consumer_test: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: consumer_test.sh PATH_TO_deps.bzl"
deps_bzl="$(readlink -f "$1")" || die "cannot resolve $1"
root="$(dirname "$deps_bzl")"
consumer="$root/tests/consumer"
[ -f "$root/WORKSPACE" ] || die "$root (from $1 -> $deps_bzl) is not the HAKMEM source tree; run this test with tags = [\"local\"] so the runfile resolves to the source tree"
[ -f "$consumer/WORKSPACE" ] || die "consumer workspace not found at $consumer"
command -v bazel >/dev/null || die "bazel not found (bash tools/setup.sh)"

tmp="${TEST_TMPDIR:-$(mktemp -d)}"
out_root="$tmp/bazel_root"
home="$tmp/home"
log="$tmp/consumer.log"
mkdir -p "$home"

cleanup() {
  # Bazel's output tree has read-only files and directories.
  chmod -R u+w "$out_root" 2>/dev/null
  rm -rf "$out_root"
}
trap cleanup EXIT

echo "consumer workspace: $consumer"
t0=$SECONDS
(
  cd "$consumer" &&
  env -i PATH=/usr/bin:/bin HOME="$home" USER="$(id -un)" LANG=C.UTF-8 \
    bazel --batch --output_user_root="$out_root" \
    test --symlink_prefix=/ --keep_going --test_output=all --color=no --curses=no \
    //...
) >"$log" 2>&1
rc=$?
elapsed=$((SECONDS - t0))
# Bazel's progress lines carry no information once the build is over.
grep -vE '^(\[[0-9,]+ / [0-9,]+\]|Loading|Analyzing|INFO: (From|Found|Analyzed))' "$log"
echo "nested bazel: exit $rc after ${elapsed} s"
if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
  cp "$log" "$TEST_UNDECLARED_OUTPUTS_DIR/consumer.log"
fi

fails=0
check() {  # check REGEX DESCRIPTION: the nested log must contain a line matching REGEX
  if ! grep -qE "$1" "$log"; then
    printf 'FAIL: %s (no line matching /%s/ in the nested log)\n' "$2" "$1" >&2
    fails=$((fails + 1))
  fi
}
[ $rc -eq 0 ] || { printf 'FAIL: nested "bazel test //..." in %s exited with %d\n' "$consumer" "$rc" >&2; fails=$((fails + 1)); }
check '^//:proof_test +PASSED' "proof_test (cc_binary with malloc = and with deps) passed"
check '^proof_malloc_attr: proof: [0-9]+ allocations served by hakmem ' "the binary with malloc = @hakmem//hakmem:malloc_shim was served by HAKMEM"
check '^proof_deps: proof: [0-9]+ allocations served by hakmem ' "the binary with malloc_shim in deps was served by HAKMEM"
check '^//:gtest_malloc_attr +PASSED' "GoogleTest cc_test with malloc = malloc_shim passed"
check '^//:gtest_deps +PASSED' "GoogleTest cc_test with malloc_shim in deps passed"
check '^Executed 3 out of 3 tests: 3 tests pass' "all 3 consumer tests ran and passed"
[ $fails -eq 0 ] || exit 1
echo "PASS: the consumer workspace builds and tests with HAKMEM (${elapsed} s)"
