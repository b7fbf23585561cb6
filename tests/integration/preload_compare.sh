#!/usr/bin/env bash
# Runs a real program twice -- with the C library's malloc and with
# libhakmem.so in LD_PRELOAD -- and requires identical exit status, stdout
# and stderr. Proves that HAKMEM really served the preloaded run:
#   * a preloaded `cat /proc/self/maps` shows libhakmem.so mapped;
#   * the preloaded run has HAKMEM_PROBE_UNKNOWN=1 in its environment, and
#     HAKMEM's policy box reports an unknown HAKMEM_ variable once per process
#     when it initialises (on the first allocation): the number of those lines
#     on stderr is the number of processes whose allocations HAKMEM served
#     (a fork()ed child inherits the initialised allocator and prints none),
#     and it must be at least --min-inits;
#   * any other "hakmem: " line on stderr (a diagnostic) fails the test.
#
# usage: preload_compare.sh --lib PATH [--min-inits N] [--hak-env NAME=VALUE]...
#            [--stdin FILE] -- PROGRAM ARGS...
#   PATH, FILE: relative to the runfiles directory (use $(rootpath ...)).
#   @WORK@ in ARGS becomes a fresh, not yet existing directory per run.
#   --hak-env: set only in the preloaded run (e.g. to enable ownership checks
#              in the workload).
# Environment: TEST_TMPDIR (set by bazel test; a temporary directory otherwise),
# TEST_UNDECLARED_OUTPUTS_DIR (outputs of a failing run are copied there).
set -uo pipefail

die() { printf 'preload_compare: %s\n' "$*" >&2; exit 2; }

lib="" min_inits=1 stdin_file=/dev/null
hak_env=()
while [ $# -gt 0 ]; do
  case "$1" in
    --lib) lib="$2"; shift 2 ;;
    --min-inits) min_inits="$2"; shift 2 ;;
    --hak-env) hak_env+=("$2"); shift 2 ;;
    --stdin) stdin_file="$2"; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option $1" ;;
  esac
done
[ $# -gt 0 ] || die "no program given"
[ -n "$lib" ] || die "--lib is required"

# The Debian programs installed by tools/setup.sh, not wrappers earlier on
# PATH (a pyenv shim would start a dozen shells of its own).
export PATH="/usr/bin:/bin:${PATH:-}"
export LC_ALL=C
unset LD_PRELOAD

[ -f "$lib" ] || die "libhakmem.so not found at $lib (cwd $(pwd))"
lib="$(readlink -f "$lib")"
[ -e "$stdin_file" ] || die "stdin file $stdin_file not found"
stdin_file="$(readlink -f "$stdin_file")"
command -v "$1" >/dev/null || die "program '$1' not found: install it (bash tools/setup.sh)"

tmp="${TEST_TMPDIR:-$(mktemp -d)}"
name="$(basename "$1")"
probe_line="hakmem: unknown variable HAKMEM_PROBE_UNKNOWN ignored"
# git relays a server process's stderr as "remote: <line>" padded with blanks.
probe_re="^(remote: )?$probe_line *\$"

fail() {
  printf '\nFAIL (%s): %s\n' "$name" "$*" >&2
  if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    cp "$tmp"/ref.out "$tmp"/ref.err "$tmp"/hak.out "$tmp"/hak.err "$TEST_UNDECLARED_OUTPUTS_DIR"/ 2>/dev/null
    printf 'outputs of both runs copied to %s\n' "$TEST_UNDECLARED_OUTPUTS_DIR" >&2
  fi
  exit 1
}

# --- 1. the library is loaded and initialises in a preloaded process -------
maps="$(LD_PRELOAD="$lib" HAKMEM_PROBE_UNKNOWN=1 cat /proc/self/maps 2>"$tmp/probe.err")" \
  || fail "preloaded 'cat /proc/self/maps' failed: $(cat "$tmp/probe.err")"
grep -qF "$lib" <<<"$maps" || fail "libhakmem.so ($lib) is not mapped in a preloaded process:
$(grep -F .so <<<"$maps" | sed 's/^/  /')
stderr: $(cat "$tmp/probe.err")"

# --- 2. reference run and preloaded run -------------------------------------
run() {  # run TAG [ENV...]: runs the program, writes $tmp/TAG.{out,err}
  local tag="$1"
  shift
  local args=() a
  for a in "${cmd[@]}"; do args+=("${a//@WORK@/$tmp/work-$tag}"); done
  rm -rf "$tmp/work-$tag"
  local t0=$SECONDS
  env "$@" "${args[@]}" <"$stdin_file" >"$tmp/$tag.out" 2>"$tmp/$tag.err"
  local rc=$?
  printf '%s run: exit %d, %d s, %d lines of output\n' "$tag" "$rc" $((SECONDS - t0)) \
    "$(wc -l <"$tmp/$tag.out")"
  return $rc
}
cmd=("$@")

run ref
ref_rc=$?
if [ $ref_rc -ne 0 ]; then
  fail "the reference run (without HAKMEM) exited with $ref_rc: the workload itself is broken
--- stderr ---
$(tail -n 30 "$tmp/ref.err")"
fi

run hak LD_PRELOAD="$lib" HAKMEM_PROBE_UNKNOWN=1 "${hak_env[@]}"
hak_rc=$?

inits=$(grep -cE "$probe_re" "$tmp/hak.err")
grep -vE "$probe_re" "$tmp/hak.err" >"$tmp/hak.err.filtered"
diagnostics="$(grep -F 'hakmem: ' "$tmp/hak.err.filtered")"

if [ $hak_rc -ne $ref_rc ]; then
  why="exit status $hak_rc"
  [ $hak_rc -gt 128 ] && why="$why (killed by signal $((hak_rc - 128)): $(kill -l $((hak_rc - 128)) 2>/dev/null))"
  fail "under LD_PRELOAD=libhakmem.so the program failed: $why, reference exit $ref_rc
--- stderr of the preloaded run (last 30 lines) ---
$(tail -n 30 "$tmp/hak.err.filtered")"
fi
if [ -n "$diagnostics" ]; then
  fail "HAKMEM printed diagnostics:
$diagnostics"
fi
if [ "$inits" -lt "$min_inits" ]; then
  fail "HAKMEM initialised in $inits processes, expected at least $min_inits: the preload did not serve the program
(no '$probe_line' on stderr)"
fi
if ! cmp -s "$tmp/ref.out" "$tmp/hak.out"; then
  fail "stdout differs between the reference run (<) and the preloaded run (>):
$(diff "$tmp/ref.out" "$tmp/hak.out" | sed -n 1,60p)"
fi
if ! cmp -s "$tmp/ref.err" "$tmp/hak.err.filtered"; then
  fail "stderr differs between the reference run (<) and the preloaded run (>, HAKMEM's probe lines removed):
$(diff "$tmp/ref.err" "$tmp/hak.err.filtered" | sed -n 1,60p)"
fi
rm -rf "$tmp/work-ref" "$tmp/work-hak"
printf 'PASS (%s): identical output; HAKMEM served %d processes\n' "$name" "$inits"
