#!/usr/bin/python3
"""tools/bench_history.py — runs HAKMEM's benchmark matrix and appends the
results to the history file (SPEC §5, benchmarks/history/history.jsonl).

For each workload of the matrix it runs the workload driver once with
--allocator=hakmem,glibc,mimalloc,jemalloc,tcmalloc --profile=LEGACY,C7_SAFE
(interleaved runs, so every series is measured in the same rounds as glibc),
and for single-threaded workloads measures instructions per op under
callgrind (hakmem per profile, and glibc: the driver brackets the measured
loop, see benchmarks/driver.h). The matrix entry "soak" runs the long-run soak
(benchmarks/soak.c) instead: one run of --soak-duration seconds per series
(--soak-allocator, hakmem per --soak-profile), sampled every --soak-interval
seconds. Then it appends one JSON line per series:

  {"schema":1,"commit","date","machine":{"id","cpu","cores","kernel",
   "compiler","glibc"},"workload","profile","variant","threads","allocator",
   "lib_hash","n","median_ops","mad_ops","ratio_glibc","ratio_mad",
   "ir_per_op","peak_rss_kib","gate":null}

 - date: the start of this invocation (UTC), the same on every line it
   writes: (commit, date) identifies one run of the matrix.
 - ratio_glibc: median ops/s over glibc's median ops/s, same invocation.
 - ratio_mad: the median absolute deviation of the per-round paired ratios
   ops[i] / glibc_ops[i] (null when a run of either series failed, so rounds
   cannot be paired, or glibc is not in the run; 0 for glibc itself).
 - mad_ops: median absolute deviation of the runs (not scaled).
 - lib_hash: first 16 hex digits of the sha256 of the LD_PRELOADed library
   the driver actually used (null for glibc).
 - ir_per_op: callgrind's Ir of the measured loop / ops (null: not measured).
 - gate: null; the regression gate fills in its verdict on lines it judges.

Soak lines ("workload":"soak") are schema-1 lines too (readers that do not
know them see one more workload): n = the number of samples, median_ops and
mad_ops over the per-interval ops/s, ratio_glibc = median over glibc's
median, ratio_mad = MAD of the per-interval paired ratios (the series run
interleaved interval by interval), peak_rss_kib = the worker's ru_maxrss,
ir_per_op null. After "gate" they carry
  "duration_s","interval_s","order","rss_drift","ops_drift",
  "samples":[{"t","ops","rss_kib","rss_max_kib","live_kib"}, ...]
 - t: seconds of work at the end of the interval; ops: ops/s in it; rss_kib:
   RSS at its end (working set back at its base level); rss_max_kib: the
   largest RSS polled during it; live_kib: what the program holds at its end.
 - rss_drift: last sample's RSS / median RSS of the middle samples - 1;
   ops_drift: median ops/s of the last 10% of the samples / the middle's - 1
   (the soak driver's definitions; null when undefined).

It builds nothing unless --build is given (then `bazel build -c opt
//benchmarks:all //hakmem:libhakmem.so` in the repository). Environment
variables HAKMEM_* are removed from the drivers' environment so that the
history records the profiles alone.

  python3 tools/bench_history.py                      # full matrix (with a 3 x 10 min soak)
  python3 tools/bench_history.py --quick --matrix=mixed,larson@2 --out=/tmp/h.jsonl
  python3 tools/bench_history.py --matrix=soak@2 --soak-duration=120   # the soak alone

Exit status: 0 all series measured and appended; 1 some series or
measurement failed (what did succeed is still appended); 2 usage error.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import history  # noqa: E402
import stats  # noqa: E402

SCHEMA = 1
ALL_ALLOCATORS = ["hakmem", "glibc", "mimalloc", "jemalloc", "tcmalloc"]
DEFAULT_PROFILES = ["LEGACY", "C7_SAFE"]
WORKLOADS = ["mixed", "fixed_size", "c7_only", "c6_heavy", "mid_large_mt", "larson", "xthread", "soak"]
# workload@threads; no @: the driver's default thread count.
DEFAULT_MATRIX = "mixed,fixed_size,c7_only,c6_heavy,mid_large_mt@1,mid_large_mt@2,larson@2,xthread@2,soak@2"
# The soak (benchmarks/soak.c): its own allocators, profiles and length.
SOAK_ALLOCATORS = ["hakmem", "glibc", "mimalloc"]
SOAK_PROFILES = ["LEGACY"]
SOAK_DURATION_S, SOAK_INTERVAL_S = 600, 10
QUICK_SOAK_DURATION_S, QUICK_SOAK_INTERVAL_S = 3, 1
SOAK_SAMPLE_KEYS = ("t", "ops", "rss_kib", "rss_max_kib", "live_kib")
# The drivers' default iterations per thread (benchmarks/<workload>.c); used
# to scale down --quick runs and to cap the callgrind runs. larson and xthread
# are timed (1 s by default, driver.h): for them this is about one second's
# work, and --iters makes their runs work-bounded (--quick, callgrind).
DEFAULT_ITERS = {
    "mixed": 10_000_000,
    "fixed_size": 10_000_000,
    "c7_only": 10_000_000,
    "c6_heavy": 10_000_000,
    "mid_large_mt": 1_000_000,
    "larson": 5_000_000,
    "xthread": 2_500_000,
}
FULL_RUNS, QUICK_RUNS = 5, 3
QUICK_DIVISOR = 50  # --quick: iterations / 50
CG_ITERS_FULL, CG_ITERS_QUICK = 1_000_000, 20_000
DRIVER_TIMEOUT_S = 3600
CG_TIMEOUT_S = 1800


def log(msg):
    print(f"[bench_history] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Repository, commit, machine


def repo_root(arg):
    if arg:
        return os.path.abspath(arg)
    ws = os.environ.get("BUILD_WORKSPACE_DIRECTORY")  # bazel run
    if ws:
        return ws
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def head_commit(repo):
    """HEAD's commit (git rev-parse), or None."""
    try:
        return history.rev_parse(repo, "HEAD")
    except history.HistoryError:
        return None


machine_info = history.machine_info
file_hash = history.file_hash


# ---------------------------------------------------------------------------
# Statistics (the driver's definitions: median, raw MAD; tools/stats.py)

median = stats.median
mad = stats.mad


def paired_ratio_mad(series, glibc):
    """MAD of ops[i] / glibc_ops[i] over the rounds, or None."""
    if glibc is None or series.get("failed_runs") or glibc.get("failed_runs"):
        return None
    a, b = series.get("ops_per_sec") or [], glibc.get("ops_per_sec") or []
    if not a or len(a) != len(b) or any(x <= 0 for x in b):
        return None
    return mad([x / y for x, y in zip(a, b)])


# ---------------------------------------------------------------------------
# Running


def parse_matrix(text):
    entries = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, thr = item.partition("@")
        if name not in WORKLOADS:
            raise ValueError(f"unknown workload {name!r} (known: {', '.join(WORKLOADS)})")
        threads = None
        if thr:
            if not thr.isdigit() or int(thr) < 1:
                raise ValueError(f"bad thread count in {item!r} (want workload@N, N >= 1)")
            threads = int(thr)
        if (name, threads) not in entries:
            entries.append((name, threads))
    if not entries:
        raise ValueError("empty --matrix")
    return entries


def driver_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("HAKMEM_") and k != "LD_PRELOAD"}


WORKER_RE = re.compile(r"worker: (.*)$")


def preloads_from_verbose(stderr):
    """{allocator: LD_PRELOAD path} from the driver's --verbose worker lines."""
    out = {}
    for line in stderr.splitlines():
        m = WORKER_RE.search(line)
        if not m:
            continue
        words = m.group(1).split()
        alloc = next((w[len("--worker="):] for w in words if w.startswith("--worker=")), None)
        pre = next((w[len("LD_PRELOAD="):] for w in words if w.startswith("LD_PRELOAD=")), None)
        if alloc and pre:
            out.setdefault(alloc, pre)
    return out


def run_driver(exe, allocators, profiles, runs, iters, threads, tmpdir, tag):
    jpath = os.path.join(tmpdir, f"{tag}.jsonl")
    cmd = [exe, "--allocator=" + ",".join(allocators), "--runs=%d" % runs, "--json=" + jpath, "--verbose"]
    if "hakmem" in allocators and profiles:
        cmd.append("--profile=" + ",".join(profiles))
    if iters is not None:
        cmd.append("--iters=%d" % iters)
    if threads is not None:
        cmd.append("--threads=%d" % threads)
    log("$ " + " ".join(cmd))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=driver_env(), timeout=DRIVER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        log(f"{tag}: driver timed out after {DRIVER_TIMEOUT_S} s")
        return None, {}, False
    sys.stderr.write(p.stdout)  # the driver's table
    errs = [l for l in p.stderr.splitlines() if not WORKER_RE.search(l)]
    if errs:
        sys.stderr.write("\n".join(errs) + "\n")
    series = []
    if os.path.isfile(jpath):
        with open(jpath) as f:
            series = [json.loads(l) for l in f if l.strip()]
    ok = p.returncode == 0 and bool(series)
    if p.returncode != 0:
        log(f"{tag}: driver exited with status {p.returncode}")
    return series, preloads_from_verbose(p.stderr), ok


SUMMARY_RE = re.compile(r"^summary:\s*(\d+)", re.M)
RESULT_RE = re.compile(r"hakmem-bench-result ops=(\d+) ns=(\d+)")


def callgrind_ir_per_op(valgrind, exe, worker, preload, profile, s, iters, tmpdir, tag):
    """Ir of the measured loop / ops, from one worker run under callgrind."""
    out = os.path.join(tmpdir, f"cg.{tag}.out")
    env = driver_env()
    if preload:
        env["LD_PRELOAD"] = preload
    if profile:
        env["HAKMEM_TINY_HEAP_PROFILE"] = profile
    cmd = [valgrind, "--tool=callgrind", "--callgrind-out-file=" + out, exe, "--worker=" + worker,
           "--iters=%d" % iters, "--ws=%d" % s["ws"], "--threads=%d" % s["threads"],
           "--seed=%d" % s["seed"], "--min=%d" % s["min"], "--max=%d" % s["max"]]
    # A workload's own flags (larson's --rounds); a timed driver's run is
    # work-bounded here (--iters without --seconds).
    cmd += ["--%s=%d" % kv for kv in sorted((s.get("params") or {}).items())]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=CG_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        log(f"callgrind {tag}: timed out")
        return None
    m = RESULT_RE.search(p.stdout)
    if p.returncode != 0 or not m:
        log(f"callgrind {tag}: worker failed (status {p.returncode}): {p.stderr.strip()[-400:]}")
        return None
    try:
        with open(out + ".1") as f:
            sm = SUMMARY_RE.search(f.read())
    except OSError:
        log(f"callgrind {tag}: no {out}.1 (is the driver built with the callgrind brackets?)")
        return None
    ops = int(m.group(1))
    if not sm or ops <= 0:
        log(f"callgrind {tag}: no summary in {out}.1")
        return None
    return int(sm.group(1)) / ops


def history_line(common, s, glibc, ir, lib_hash):
    n = len(s.get("ops_per_sec") or [])
    ratio = s.get("ratio_to_glibc")
    if s["allocator"] == "glibc":
        ratio_mad = 0.0
    else:
        ratio_mad = paired_ratio_mad(s, glibc)
    return {
        "schema": SCHEMA,
        "commit": common["commit"],
        "date": common["date"],
        "machine": common["machine"],
        "workload": s["benchmark"],
        "profile": s.get("profile"),
        "variant": s.get("variant"),
        "threads": s["threads"],
        "allocator": s["allocator"],
        "lib_hash": lib_hash,
        "n": n,
        "median_ops": float(s["median_ops_per_sec"]),
        "mad_ops": float(s["mad_ops_per_sec"]),
        "ratio_glibc": None if ratio is None else float(ratio),
        "ratio_mad": None if ratio_mad is None else round(ratio_mad, 6),
        "ir_per_op": None if ir is None else round(ir, 3),
        "peak_rss_kib": int(s["max_peak_rss_kib"]),
        "gate": None,
    }


def run_soak(exe, allocators, profiles, duration, interval, threads, tmpdir):
    """The soak driver once: (series, {allocator: preload}, ok)."""
    jpath = os.path.join(tmpdir, "soak.jsonl")
    cmd = [exe, "--allocator=" + ",".join(allocators), "--duration=%d" % duration, "--interval=%d" % interval,
           "--json=" + jpath, "--verbose"]
    if "hakmem" in allocators and profiles:
        cmd.append("--profile=" + ",".join(profiles))
    if threads is not None:
        cmd.append("--threads=%d" % threads)
    nseries = len(allocators) - 1 + max(len(profiles), 1) if "hakmem" in allocators else len(allocators)
    timeout = int(nseries * duration * 1.5) + 600
    log("$ " + " ".join(cmd))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=driver_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"soak: driver timed out after {timeout} s")
        return None, {}, False
    sys.stderr.write(p.stdout)  # the driver's table
    errs = [l for l in p.stderr.splitlines() if not WORKER_RE.search(l)]
    if errs:
        sys.stderr.write("\n".join(errs) + "\n")
    series = []
    if os.path.isfile(jpath):
        with open(jpath) as f:
            series = [json.loads(l) for l in f if l.strip()]
    if p.returncode != 0:
        log(f"soak: driver exited with status {p.returncode}")
    return series, preloads_from_verbose(p.stderr), p.returncode == 0 and bool(series)


def soak_history_line(common, s, glibc, lib_hash):
    """A history line (schema 1 plus the soak fields) from a soak JSON series."""
    samples = s.get("samples") or []
    ops = [x["ops"] for x in samples]
    if s["allocator"] == "glibc":
        ratio_mad = 0.0
    else:
        g = (glibc or {}).get("samples") or []
        paired = glibc is not None and not glibc.get("failed_runs") and len(g) == len(samples) \
            and all(x["ops"] > 0 for x in g)
        ratio_mad = mad([a["ops"] / b["ops"] for a, b in zip(samples, g)]) if paired and samples else None
    ratio = s.get("ratio_to_glibc")
    return {
        "schema": SCHEMA,
        "commit": common["commit"],
        "date": common["date"],
        "machine": common["machine"],
        "workload": "soak",
        "profile": s.get("profile"),
        "variant": None,
        "threads": s["threads"],
        "allocator": s["allocator"],
        "lib_hash": lib_hash,
        "n": len(samples),
        "median_ops": float(median(ops)),
        "mad_ops": float(mad(ops)),
        "ratio_glibc": None if ratio is None else float(ratio),
        "ratio_mad": None if ratio_mad is None else round(ratio_mad, 6),
        "ir_per_op": None,
        "peak_rss_kib": int(s["peak_rss_kib"]),
        "gate": None,
        "duration_s": s["duration_s"],
        "interval_s": s["interval_s"],
        "order": s["order"],
        "rss_drift": s.get("rss_drift"),
        "ops_drift": s.get("ops_drift"),
        "samples": [{"t": round(x["t"], 3), "ops": round(x["ops"]), "rss_kib": x["rss_kib"],
                     "rss_max_kib": x["rss_max_kib"], "live_kib": x["live_kib"]} for x in samples],
    }


def build(repo):
    cmd = ["bazel", "build", "-c", "opt", "//benchmarks:all", "//hakmem:libhakmem.so"]
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, cwd=repo, check=True)
    out = subprocess.run(["bazel", "info", "-c", "opt", "bazel-bin"], cwd=repo, check=True,
                         capture_output=True, text=True).stdout.strip()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Run the benchmark matrix and append one JSON line per series to the history file.")
    ap.add_argument("--bin-dir", help="Bazel output dir holding benchmarks/<workload> and hakmem/libhakmem.so "
                    "(default <repo>/bazel-out/k8-opt/bin)")
    ap.add_argument("--build", action="store_true", help="bazel build -c opt the drivers and libhakmem.so first")
    ap.add_argument("--repo", help="repository root (default: this file's ../)")
    ap.add_argument("--matrix", default=DEFAULT_MATRIX,
                    help="comma list of workload[@threads] (default %(default)s)")
    ap.add_argument("--allocator", default=",".join(ALL_ALLOCATORS), help="comma list (default %(default)s)")
    ap.add_argument("--profile", default=",".join(DEFAULT_PROFILES), help="hakmem profiles (default %(default)s)")
    ap.add_argument("--runs", type=int, help=f"runs per series (default {FULL_RUNS}, --quick {QUICK_RUNS})")
    ap.add_argument("--iters", type=int, help="iterations per thread for every workload "
                    f"(default the driver's; --quick: the driver's / {QUICK_DIVISOR})")
    ap.add_argument("--cg-iters", type=int, help="iterations of the callgrind runs "
                    f"(default min(iters, {CG_ITERS_FULL}); --quick {CG_ITERS_QUICK})")
    ap.add_argument("--no-callgrind", action="store_true", help="do not measure instructions/op")
    ap.add_argument("--quick", action="store_true", help="few runs and iterations (tests, smoke checks); "
                    f"a {QUICK_SOAK_DURATION_S} s soak")
    ap.add_argument("--soak-allocator", default=",".join(SOAK_ALLOCATORS),
                    help="allocators of the soak (default %(default)s)")
    ap.add_argument("--soak-profile", default=",".join(SOAK_PROFILES),
                    help="hakmem profiles of the soak (default %(default)s)")
    ap.add_argument("--soak-duration", type=int, help=f"seconds per soak series (default {SOAK_DURATION_S}, "
                    f"--quick {QUICK_SOAK_DURATION_S}); a multiple of --soak-interval")
    ap.add_argument("--soak-interval", type=int, help=f"seconds between soak samples (default {SOAK_INTERVAL_S}, "
                    f"--quick {QUICK_SOAK_INTERVAL_S})")
    ap.add_argument("--out", help="history file to append to (default <repo>/benchmarks/history/history.jsonl)")
    ap.add_argument("--commit", help="commit to record (default: HEAD, from git rev-parse)")
    args = ap.parse_args(argv)

    try:
        matrix = parse_matrix(args.matrix)
    except ValueError as e:
        ap.error(str(e))
    allocators = [a.strip() for a in args.allocator.split(",") if a.strip()]
    bad = [a for a in allocators if a not in ALL_ALLOCATORS]
    if bad or not allocators:
        ap.error(f"--allocator: unknown {bad} (known: {', '.join(ALL_ALLOCATORS)})")
    profiles = [p.strip().upper() for p in args.profile.split(",") if p.strip()]
    soak_allocators = [a.strip() for a in args.soak_allocator.split(",") if a.strip()]
    bad = [a for a in soak_allocators if a not in ALL_ALLOCATORS]
    if bad or not soak_allocators:
        ap.error(f"--soak-allocator: unknown {bad} (known: {', '.join(ALL_ALLOCATORS)})")
    soak_profiles = [p.strip().upper() for p in args.soak_profile.split(",") if p.strip()]
    soak_duration = args.soak_duration or (QUICK_SOAK_DURATION_S if args.quick else SOAK_DURATION_S)
    soak_interval = args.soak_interval or (QUICK_SOAK_INTERVAL_S if args.quick else SOAK_INTERVAL_S)
    if soak_duration < 1 or soak_interval < 1 or soak_duration % soak_interval:
        ap.error("--soak-duration must be a positive multiple of --soak-interval")
    runs = args.runs or (QUICK_RUNS if args.quick else FULL_RUNS)
    if runs < 1:
        ap.error("--runs must be >= 1")

    repo = repo_root(args.repo)
    commit = args.commit or head_commit(repo)
    if commit is None or not re.fullmatch(r"[0-9a-f]{40}", commit):
        ap.error(f"no commit: {repo} has no HEAD commit (git rev-parse HEAD); pass --commit=<40 hex>")
    out_path = args.out or os.path.join(repo, "benchmarks", "history", "history.jsonl")

    if args.build:
        bin_dir = build(repo)
    else:
        bin_dir = args.bin_dir or os.path.join(repo, "bazel-out", "k8-opt", "bin")
    bin_dir = os.path.abspath(bin_dir)
    missing = [w for w, _ in matrix if not os.access(os.path.join(bin_dir, "benchmarks", w), os.X_OK)]
    if missing:
        log(f"drivers missing in {bin_dir}/benchmarks: {', '.join(missing)} "
            "(bazel build -c opt //benchmarks:all //hakmem:libhakmem.so, or pass --build)")
        return 2

    valgrind = None if args.no_callgrind else shutil.which("valgrind")
    if not args.no_callgrind and valgrind is None:
        log("valgrind not found (Debian package 'valgrind'): instructions/op not measured")

    common = {
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine_info(),
    }
    log(f"commit {commit[:12]}, machine {common['machine']['id']} ({common['machine']['cpu']}, "
        f"{common['machine']['cores']} cores), {runs} runs per series, output {out_path}")

    lines, failures = [], 0
    with tempfile.TemporaryDirectory(prefix="bench_history.") as tmp:
        for workload, threads in matrix:
            exe = os.path.join(bin_dir, "benchmarks", workload)
            if workload == "soak":
                series, preloads, ok = run_soak(exe, soak_allocators, soak_profiles, soak_duration,
                                                soak_interval, threads, tmp)
                failures += 0 if ok else 1
                series = series or []
                glibc = next((s for s in series if s["allocator"] == "glibc"), None)
                hashes = {a: file_hash(p) for a, p in preloads.items() if os.path.isfile(p)}
                for s in series:
                    if s.get("failed_runs") or not s.get("samples"):
                        log(f"soak: {s['allocator']} {s.get('profile') or ''}: failed: {s.get('error', '?')} "
                            "(not recorded)")
                        failures += 1
                        continue
                    lines.append(soak_history_line(common, s, glibc, hashes.get(s["allocator"])))
                continue
            iters = args.iters
            if iters is None and args.quick:
                iters = max(DEFAULT_ITERS[workload] // QUICK_DIVISOR, 1000)
            tag = workload + (f"@{threads}" if threads else "")
            series, preloads, ok = run_driver(exe, allocators, profiles, runs, iters, threads, tmp,
                                              tag.replace("@", "_t"))
            if not ok:
                failures += 1
            glibc = next((s for s in series if s["allocator"] == "glibc" and s.get("variant") is None), None)
            hashes = {a: file_hash(p) for a, p in preloads.items() if os.path.isfile(p)}
            for s in series:
                if not s.get("ops_per_sec") or "median_ops_per_sec" not in s:
                    log(f"{tag}: {s['allocator']} {s.get('profile') or ''}: every run failed: "
                        f"{s.get('error', '?')}")
                    failures += 1
                    continue
                ir = None
                measure = (valgrind and s["threads"] == 1 and s.get("variant") is None
                           and s["allocator"] in ("hakmem", "glibc"))
                if measure:
                    cg_iters = args.cg_iters or (CG_ITERS_QUICK if args.quick
                                                 else min(s["iters"] or DEFAULT_ITERS[workload], CG_ITERS_FULL))
                    ctag = f"{tag.replace('@', '_t')}.{s['allocator']}.{s.get('profile') or '-'}"
                    ir = callgrind_ir_per_op(valgrind, exe, s["allocator"], preloads.get(s["allocator"]),
                                             s.get("profile"), s, cg_iters, tmp, ctag)
                    if ir is None:
                        failures += 1
                    else:
                        log(f"{tag}: {s['allocator']} {s.get('profile') or ''} {ir:.1f} Ir/op "
                            f"(callgrind, {cg_iters} iters)")
                lines.append(history_line(common, s, glibc, ir, hashes.get(s["allocator"])))

    if lines:
        d = os.path.dirname(os.path.abspath(out_path))
        os.makedirs(d, exist_ok=True)
        with open(out_path, "a") as f:
            f.write("".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines))
        log(f"appended {len(lines)} lines to {out_path}")
    if failures:
        log(f"{failures} failure(s): see above")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
