#!/usr/bin/env bash
# Test of tools/bench_history.py: a --quick run of a small matrix (mixed with
# instructions/op under callgrind, larson with 2 threads) against the drivers
# and libhakmem.so in this test's runfiles, into a scratch history file.
# Checks the lines' schema and values against what was run (series, n, same
# date and commit on every line, ratios, paired ratio MAD, Ir/op only where
# measured, library hashes of the preloaded files, machine id), that a second
# run appends without touching the first lines, the commit from
# git rev-parse (a worktree too), and the usage errors; then a --quick soak (3 s,
# hakmem and glibc): its schema-1 lines carry the soak fields and one sample
# per second. No timing assertions.
# Usage (Bazel): bench_history_test.sh <bench_history.py>
set -uo pipefail
# Debian's python3: numpy and scipy (tools/stats.py); a pyenv python3 on PATH lacks them.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

TOOL="$1"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
RUNFILES="${RUNFILES_DIR:-${TEST_SRCDIR:-}}"
BIN="$RUNFILES/hakmem"
OUT="$TMP/history.jsonl"
COMMIT=0123456789abcdef0123456789abcdef01234567
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
[ -x "$BIN/benchmarks/mixed" ] || { echo "FAIL: no driver at $BIN/benchmarks/mixed" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "FAIL: valgrind not installed (bash tools/setup.sh)" >&2; exit 1; }

# --- usage errors ---------------------------------------------------------------
$PY "$TOOL" --bin-dir="$BIN" --commit=$COMMIT --out="$TMP/x" --matrix=nosuch 2>"$TMP/err"
[ $? = 2 ] && grep -q "unknown workload" "$TMP/err" || fail "--matrix=nosuch: want exit 2, 'unknown workload'"
$PY "$TOOL" --bin-dir="$BIN" --commit=$COMMIT --out="$TMP/x" --matrix=mixed@0 2>"$TMP/err"
[ $? = 2 ] || fail "--matrix=mixed@0: want exit 2"
$PY "$TOOL" --bin-dir="$BIN" --commit=$COMMIT --out="$TMP/x" --matrix=soak --soak-duration=5 \
  --soak-interval=2 2>"$TMP/err"
[ $? = 2 ] && grep -q "multiple of --soak-interval" "$TMP/err" || fail "--soak-duration=5 --soak-interval=2: want exit 2"
$PY "$TOOL" --bin-dir="$TMP/nobin" --commit=$COMMIT --out="$TMP/x" --matrix=mixed 2>"$TMP/err"
[ $? = 2 ] && grep -q "drivers missing" "$TMP/err" || fail "missing drivers: want exit 2, 'drivers missing'"
mkdir -p "$TMP/nogit"
$PY "$TOOL" --repo="$TMP/nogit" --bin-dir="$BIN" --out="$TMP/x" --matrix=mixed 2>"$TMP/err"
[ $? = 2 ] && grep -q "pass --commit" "$TMP/err" || fail "no .git and no --commit: want exit 2"
[ ! -e "$TMP/x" ] || fail "a failed invocation wrote $TMP/x"

# --- the commit, from git rev-parse HEAD (a worktree's HEAD too) ----------------------
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
git init -q "$TMP/repo" && git -C "$TMP/repo" commit -q --allow-empty -m one || fail "git init failed"
want=$(git -C "$TMP/repo" rev-parse HEAD)
$PY "$TOOL" --repo="$TMP/repo" --bin-dir="$BIN" --out="$TMP/git.jsonl" --matrix=mixed --allocator=glibc \
  --quick --runs=1 --no-callgrind 2>"$TMP/err" || fail "run with a git repo failed: $(tail -3 "$TMP/err")"
grep -q "\"commit\":\"$want\"" "$TMP/git.jsonl" 2>/dev/null || fail "commit not HEAD's ($want)"
git -C "$TMP/repo" commit -q --allow-empty -m two
git -C "$TMP/repo" worktree add -q --detach "$TMP/wt" HEAD~1 2>/dev/null || fail "git worktree add failed"
$PY "$TOOL" --repo="$TMP/wt" --bin-dir="$BIN" --out="$TMP/git2.jsonl" --matrix=mixed --allocator=glibc \
  --quick --runs=1 --no-callgrind 2>/dev/null
grep -q "\"commit\":\"$want\"" "$TMP/git2.jsonl" 2>/dev/null || fail "commit not the worktree's HEAD ($want)"

# --- a quick matrix ---------------------------------------------------------------
if ! $PY "$TOOL" --bin-dir="$BIN" --commit=$COMMIT --out="$OUT" --quick \
  --matrix=mixed,larson@2 --allocator=hakmem,glibc,mimalloc --profile=LEGACY,C7_SAFE 2>"$TMP/run.err"; then
  fail "quick run failed:"
  sed 's/^/  /' "$TMP/run.err" >&2
fi
cp "$OUT" "$TMP/first.jsonl" 2>/dev/null
# Second run, appended (no callgrind, one workload).
$PY "$TOOL" --bin-dir="$BIN" --commit=$COMMIT --out="$OUT" --quick --no-callgrind --matrix=mixed \
  --allocator=hakmem,glibc --profile=LEGACY 2>"$TMP/run2.err" || fail "second run failed: $(tail -3 "$TMP/run2.err")"

$PY - "$OUT" "$TMP/first.jsonl" "$BIN" "$COMMIT" <<'EOF' || failures=$((failures + 1))
import hashlib, json, os, platform, re, sys
out, first, bin_dir, commit = sys.argv[1:5]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

lines = [json.loads(l) for l in open(out)]
first_text = open(first).read()
check(open(out).read().startswith(first_text), "the second run rewrote the first run's lines")
a = [json.loads(l) for l in first_text.splitlines()]
b = lines[len(a):]
check(len(a) == 8, f"first run: {len(a)} lines, want 8 (2 workloads x hakmem LEGACY, C7_SAFE, glibc, mimalloc)")
check(len(b) == 2, f"second run: {len(b)} lines, want 2")

keys = ["schema", "commit", "date", "machine", "workload", "profile", "variant", "threads", "allocator",
        "lib_hash", "n", "median_ops", "mad_ops", "ratio_glibc", "ratio_mad", "ir_per_op", "peak_rss_kib", "gate"]
lib = os.path.realpath(os.path.join(bin_dir, "hakmem", "libhakmem.so"))
lib_hash = hashlib.sha256(open(lib, "rb").read()).hexdigest()[:16]
for d in lines:
    check(list(d) == keys, f"keys {list(d)}")
    check(d["schema"] == 1 and d["commit"] == commit, f"schema/commit {d['schema']} {d['commit']}")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["date"]) is not None, f"date {d['date']}")
    m = d["machine"]
    key = "|".join(str(m[k]) for k in ("cpu", "cores", "kernel", "compiler", "glibc"))
    check(m["id"] == hashlib.sha256(key.encode()).hexdigest()[:12], f"machine id {m}")
    check(m["cores"] == os.cpu_count() and m["kernel"] == platform.release(), f"machine {m}")
    check(d["gate"] is None and d["variant"] is None, "gate/variant not null")
    check(d["n"] == 3, f"n={d['n']}, want 3 (--quick)")
    check(d["median_ops"] > 0 and d["mad_ops"] >= 0 and d["peak_rss_kib"] > 0, f"values {d}")
    check(isinstance(d["peak_rss_kib"], int), "peak_rss_kib not an int")
    al = d["allocator"]
    check((d["profile"] in ("LEGACY", "C7_SAFE")) == (al == "hakmem"), f"profile {d['profile']} for {al}")
    if al == "glibc":
        check(d["ratio_glibc"] == 1.0 and d["ratio_mad"] == 0.0 and d["lib_hash"] is None, f"glibc line {d}")
    else:
        check(d["ratio_glibc"] > 0 and isinstance(d["ratio_mad"], float) and d["ratio_mad"] >= 0, f"ratios {d}")
    if al == "hakmem":
        check(d["lib_hash"] == lib_hash, f"hakmem lib_hash {d['lib_hash']}, want {lib_hash} ({lib})")
    if al == "mimalloc":
        check(re.fullmatch(r"[0-9a-f]{16}", d["lib_hash"] or "") is not None, f"mimalloc lib_hash {d['lib_hash']}")
for run in (a, b):
    check(len({(d["date"], d["commit"]) for d in run}) == 1, "one run's lines differ in date/commit")
want = {("mixed", 1), ("larson", 2)}
check({(d["workload"], d["threads"]) for d in a} == want, f"workloads {[(d['workload'], d['threads']) for d in a]}")
for d in a:
    measured = d["workload"] == "mixed" and d["allocator"] in ("hakmem", "glibc")
    if measured:
        check(isinstance(d["ir_per_op"], float) and 20 < d["ir_per_op"] < 5000, f"Ir/op {d}")
    else:
        check(d["ir_per_op"] is None, f"Ir/op should be null: {d}")
# Profiles reach the workers (different code paths, different instruction counts)
ir = {d["profile"]: d["ir_per_op"] for d in a if d["workload"] == "mixed" and d["allocator"] == "hakmem"}
check(set(ir) == {"LEGACY", "C7_SAFE"} and ir.get("LEGACY") != ir.get("C7_SAFE"),
      f"hakmem Ir/op per profile {ir}: the callgrind workers did not get their profile")
check(all(d["ir_per_op"] is None for d in b), "--no-callgrind still measured Ir/op")
for e in errors:
    print("FAIL:", e, file=sys.stderr)
print(f"checked {len(lines)} history lines", file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

# --- a quick soak ---------------------------------------------------------------
if ! $PY "$TOOL" --bin-dir="$BIN" --commit=$COMMIT --out="$TMP/soak.jsonl" --quick --matrix=soak@2 \
  --soak-allocator=hakmem,glibc --soak-profile=LEGACY 2>"$TMP/soak.err"; then
  fail "quick soak failed:"
  sed 's/^/  /' "$TMP/soak.err" >&2
fi
$PY - "$TMP/soak.jsonl" "$BIN" "$COMMIT" <<'EOF' || failures=$((failures + 1))
import hashlib, json, os, sys
path, bin_dir, commit = sys.argv[1:4]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
lines = [json.loads(l) for l in open(path)] if os.path.isfile(path) else []
check([(d["allocator"], d["profile"]) for d in lines] == [("hakmem", "LEGACY"), ("glibc", None)],
      f"soak series {[(d['allocator'], d['profile']) for d in lines]}")
keys = ["schema", "commit", "date", "machine", "workload", "profile", "variant", "threads", "allocator",
        "lib_hash", "n", "median_ops", "mad_ops", "ratio_glibc", "ratio_mad", "ir_per_op", "peak_rss_kib", "gate",
        "duration_s", "interval_s", "order", "rss_drift", "ops_drift", "samples"]
lib = os.path.realpath(os.path.join(bin_dir, "hakmem", "libhakmem.so"))
lib_hash = hashlib.sha256(open(lib, "rb").read()).hexdigest()[:16]
for d in lines:
    a = d["allocator"]
    check(list(d) == keys, f"{a}: keys {list(d)}")
    check(d["schema"] == 1 and d["commit"] == commit and d["workload"] == "soak" and d["threads"] == 2,
          f"{a}: {d['schema']} {d['commit']} {d['workload']} {d['threads']}")
    check(d["n"] == 3 and d["duration_s"] == 3 and d["interval_s"] == 1 and d["order"] == "interleaved",
          f"{a}: n {d['n']}, duration {d['duration_s']}, interval {d['interval_s']}, order {d['order']}")
    check(d["ir_per_op"] is None and d["gate"] is None and d["variant"] is None, f"{a}: ir/gate/variant not null")
    s = d["samples"]
    check(len(s) == 3 and all(list(x) == ["t", "ops", "rss_kib", "rss_max_kib", "live_kib"] for x in s),
          f"{a}: samples {s}")
    check(all(0.9 < b["t"] - a_["t"] < 1.5 for a_, b in zip([{"t": 0}] + s, s)), f"{a}: sample times {s}")
    check(all(x["ops"] > 0 and x["rss_kib"] > 0 and x["rss_max_kib"] >= x["rss_kib"] for x in s), f"{a}: {s}")
    ops = sorted(x["ops"] for x in s)
    check(abs(d["median_ops"] - ops[1]) <= 1 and d["peak_rss_kib"] > 0, f"{a}: median_ops {d['median_ops']}, {ops}")
    check(isinstance(d["rss_drift"], float) and isinstance(d["ops_drift"], float), f"{a}: drifts")
    if a == "glibc":
        check(d["ratio_glibc"] == 1.0 and d["ratio_mad"] == 0.0 and d["lib_hash"] is None, f"glibc line {d}")
    else:
        check(d["ratio_glibc"] > 0 and isinstance(d["ratio_mad"], float) and d["lib_hash"] == lib_hash,
              f"hakmem ratio {d['ratio_glibc']}, ratio_mad {d['ratio_mad']}, lib_hash {d['lib_hash']}")
for e in errors:
    print("FAIL:", e, file=sys.stderr)
print(f"checked {len(lines)} soak lines", file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

if [ "$failures" -ne 0 ]; then
  echo "bench_history_test: $failures failure(s)" >&2
  exit 1
fi
echo "bench_history_test: PASS"
