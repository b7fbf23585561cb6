#!/usr/bin/env python3
"""tools/gate.py — HAKMEM's performance regression gate (SPEC §5, issue 5).

Compares a HEAD libhakmem.so with a BASELINE libhakmem.so on the
single-threaded workload drivers and fails only on a regression that is real
on a noisy shared 2-core machine. Python 3 standard library only.

Per series (workload x profile, allocator hakmem, 1 thread) two metrics:

(a) instructions per op (deterministic): one callgrind run of the measured
    loop with each library (the driver brackets the loop, see
    benchmarks/driver.h). FAIL if head > baseline x 1.03.

(b) ops/s as paired ratios: worker runs of the baseline and of the head
    interleaved in the same job, in pairs whose order alternates (B H, H B,
    B H, ...: an order effect cancels), one warm-up pair discarded. The
    timed workers run under SCHED_FIFO priority 1 when allowed (--sched):
    still wall time of the loop, but the other tenants' processes no longer
    preempt it, which cut the spread of the paired ratios ~8x on the shared
    2-core machine (27% -> 3.4% robust sd at load 6); without the privilege
    they run normally and the procedure below just needs more rounds. Per pair
    d = log(head ops/s / baseline ops/s). The estimate is the 20% trimmed
    mean of d (robust to the outlier runs of a shared machine, and ~1.5x
    fewer runs than the median for the same precision), with its
    Tukey-McLaughlin standard error; the test is the one-sided Wilcoxon
    signed-rank test (exact up to 50 pairs) of "head slower".
    Sequential rounds (cumulative pairs 24, 72, 216, 648):
      - PASS as soon as the ratio is clearly above the threshold
        (estimate - 2.576 se > log 0.97);
      - otherwise the result is suspect and is re-measured with 3x the pairs;
      - a decision other than a clear pass is taken only after at least one
        re-measurement, on all pairs so far: FAIL at once if clearly below
        the threshold (estimate + 2.576 se < log 0.97, and the conditions
        below), else decide once se <= 0.75% (then a true 5% drop lands below
        0.97 with >= 99.7% probability) or at the last round:
        FAIL iff ratio < 0.97 AND Wilcoxon p < 0.01 AND the slowdown exceeds
        the noise floor of 3.72 se (one-sided p < 1e-4 by the trimmed-mean z:
        noise alone fails a series less than once in 10^4 however loaded the
        machine is; with se <= 0.75% this is implied by ratio < 0.97).

Report: one line per series and metric naming the series, the baseline value,
the new value, the threshold and the evidence, and with --json=FILE a
summary whose per-series "gate" object fits the history schema
({"status": "pass"|"fail", "metric": ..., "detail": ...}).

Exit status: 0 pass, 1 regression, 2 usage or infrastructure error.
"""

import argparse
import functools
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# ---- thresholds ------------------------------------------------------------

IR_THRESHOLD = 1.03        # (a) fail if head Ir/op > baseline Ir/op x this
OPS_THRESHOLD = 0.97       # (b) fail if the ops/s ratio head/baseline < this ...
ALPHA = 0.01               # ... and the one-sided test gives p < this
SE_TARGET = 0.0075         # precision: decide once se(log ratio) <= this
Z_PASS = 2.576             # clear pass: estimate - Z_PASS se > log(threshold)
Z_FAIL = 3.719             # noise floor: a fail needs estimate + Z_FAIL se < 0
TRIM = 0.2                 # trimmed mean: 20% cut from each end
SCHEDULE = (24, 72, 216, 648)  # cumulative pairs per round (x3 per re-measurement)

DEFAULT_SERIES = (
    "mixed:LEGACY",
    "mixed:C7_SAFE",
    "c7_only:LEGACY",
    "c7_only:C7_SAFE",
    "fixed_size:LEGACY",
    "c6_heavy:LEGACY",
)
RESULT_RE = re.compile(r"^hakmem-bench-result ops=(\d+) ns=(\d+) .*malloc=(\S+)", re.M)


class GateError(Exception):
    """Usage or infrastructure problem: exit status 2."""


# ---- statistics (pure functions, tested by tools/gate_test.py) -------------


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        raise ValueError("median of nothing")
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def trimmed_mean_se(xs, trim=TRIM):
    """(trimmed mean, its standard error) of xs: g = floor(trim n) values cut
    from each end; se from the winsorized variance (Tukey-McLaughlin)."""
    s = sorted(xs)
    n = len(s)
    if n < 3:
        raise ValueError("trimmed mean needs >= 3 values")
    g = int(trim * n)
    core = s[g:n - g]
    est = math.fsum(core) / len(core)
    lo, hi = s[g], s[n - g - 1]
    w = [lo] * g + core + [hi] * g
    mw = math.fsum(w) / n
    var = math.fsum((x - mw) ** 2 for x in w) / (n - 1)
    se = math.sqrt(var) / ((1.0 - 2.0 * g / n) * math.sqrt(n))
    return est, se


@functools.lru_cache(maxsize=None)
def _signed_rank_cdf(n):
    """P(W+ <= w) for w = 0 .. n(n+1)/2 under H0 (no ties), exact."""
    top = n * (n + 1) // 2
    counts = [1] + [0] * top
    for k in range(1, n + 1):
        for s in range(top, k - 1, -1):
            counts[s] += counts[s - k]
    total = 2 ** n
    cdf, acc = [], 0
    for c in counts:
        acc += c
        cdf.append(acc / total)
    return cdf


def _normal_cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def wilcoxon_p_less(ds, exact_max=50):
    """One-sided Wilcoxon signed-rank p-value for H1 "the location of ds is
    below 0" (head slower). Zeros are dropped; exact null distribution for
    n <= exact_max without tied |d|, else the normal approximation with tie
    and continuity corrections."""
    nz = [d for d in ds if d != 0.0]
    n = len(nz)
    if n == 0:
        return 1.0
    order = sorted(range(n), key=lambda i: abs(nz[i]))
    ranks = [0.0] * n
    ties = []
    i = 0
    while i < n:
        j = i
        while j + 1 < n and abs(nz[order[j + 1]]) == abs(nz[order[i]]):
            j += 1
        r = (i + j + 2) / 2.0  # average of ranks i+1 .. j+1
        for k in range(i, j + 1):
            ranks[order[k]] = r
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    w_plus = sum(r for r, d in zip(ranks, nz) if d > 0)
    if n <= exact_max and not ties:
        return _signed_rank_cdf(n)[int(round(w_plus))]
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - sum(t ** 3 - t for t in ties) / 48.0
    return _normal_cdf((w_plus - mean + 0.5) / math.sqrt(var))


def decide_ir(base_ir, head_ir, threshold=IR_THRESHOLD):
    """(a): returns a dict with status "pass"/"fail" and the values."""
    ratio = head_ir / base_ir
    return {
        "status": "fail" if head_ir > base_ir * threshold else "pass",
        "baseline": base_ir,
        "head": head_ir,
        "ratio": ratio,
        "threshold": threshold,
    }


def decide_ops(sample, schedule=SCHEDULE, threshold=OPS_THRESHOLD, alpha=ALPHA,
               se_target=SE_TARGET, z_pass=Z_PASS, z_fail=Z_FAIL):
    """(b): the sequential paired-ratio procedure (see the module doc).
    sample(k, start) must return k new (baseline ops/s, head ops/s) pairs,
    start = number of pairs taken so far (for the alternating order).
    Returns a dict: status, ratio (exp of the trimmed mean of the log
    ratios), median_ratio, se, p, n, rounds, reason, pairs."""
    log_t = math.log(threshold)
    pairs = []
    rounds = []
    last = len(schedule) - 1
    for k, total in enumerate(schedule):
        new = sample(total - len(pairs), len(pairs))
        if len(new) != total - len(pairs):
            raise GateError("sampler returned %d pairs, wanted %d" % (len(new), total - len(pairs)))
        pairs.extend(new)
        d = [math.log(h / b) for b, h in pairs]
        est, se = trimmed_mean_se(d)
        p = wilcoxon_p_less(d)
        r = {"n": len(d), "ratio": math.exp(est), "median_ratio": math.exp(median(d)), "se": se, "p": p}
        rounds.append(r)
        reason = None
        status = None
        fail_ok = est < log_t and p < alpha and est + z_fail * se < 0
        if est - z_pass * se > log_t:
            status, reason = "pass", "clearly above the threshold"
        elif k == 0:
            continue  # suspect: re-measured before any other decision
        elif fail_ok and est + z_pass * se < log_t:
            status, reason = "fail", "clearly below the threshold, significant, beyond the noise floor"
        elif se <= se_target or k == last:
            if fail_ok:
                status, reason = "fail", "below the threshold, significant, beyond the noise floor"
            else:
                status = "pass"
                if est >= log_t:
                    reason = "above the threshold"
                elif p >= alpha:
                    reason = "not significant"
                else:
                    reason = "within the noise floor (%.2f se)" % (-est / se)
            if se > se_target:
                reason += " (precision target not reached at the last round: se %.2f%% > %.2f%%)" % (
                    100 * se, 100 * se_target)
        if status is not None:
            out = dict(r)
            out.update(status=status, reason=reason, rounds=rounds, pairs=pairs,
                       remeasured=k > 0)
            return out
    raise AssertionError("unreachable")


# ---- measurement -----------------------------------------------------------


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HAKMEM_") and k not in ("LD_PRELOAD", "LD_LIBRARY_PATH")}
    return env


def _lib(d):
    return os.path.join(d, "libhakmem.so")


def _parse_result(out, lib, cmd):
    m = RESULT_RE.search(out)
    if m is None:
        raise GateError("no result line from %s; output:\n%s" % (" ".join(cmd), out[-2000:]))
    ops, ns, origin = int(m.group(1)), int(m.group(2)), m.group(3)
    if os.path.realpath(origin) != os.path.realpath(lib):
        raise GateError("malloc came from %s, not from %s" % (origin, lib))
    if ops == 0 or ns == 0:
        raise GateError("empty measurement from %s" % " ".join(cmd))
    return ops, ns


def _worker_cmd(driver, iters, extra):
    return [driver, "--worker=hakmem", "--iters=%d" % iters] + list(extra)


_PREEXEC = None  # set by configure_sched(): makes a timed worker SCHED_FIFO
_ENV_SIZE = 0    # set by run(): LD_PRELOAD + GATE_ENV_PAD length of every worker


def _set_fifo():
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))


def configure_sched(mode):
    """"fifo": timed workers run SCHED_FIFO (priority 1) if this process may
    do that, else normally; "normal": always normally. Returns the mode used."""
    global _PREEXEC
    _PREEXEC = None
    if mode != "fifo" or not hasattr(os, "SCHED_FIFO"):
        return "normal"
    try:
        subprocess.run(["true"], preexec_fn=_set_fifo, check=True)
    except (OSError, subprocess.SubprocessError):
        return "normal (SCHED_FIFO not permitted)"
    _PREEXEC = _set_fifo
    return "fifo"


def _env_for(libdir, profile):
    env = _clean_env()
    env["LD_PRELOAD"] = _lib(libdir)
    # The same environment size for both libraries whatever their paths: the
    # environment's size moves the initial stack, a known source of layout
    # bias between otherwise identical runs.
    env["GATE_ENV_PAD"] = "x" * max(0, _ENV_SIZE - len(env["LD_PRELOAD"]))
    if profile:
        env["HAKMEM_TINY_HEAP_PROFILE"] = profile
    return env


def run_worker(driver, libdir, profile, iters, extra=()):
    """ops/s of one worker run (the driver's own clock around the loop)."""
    cmd = _worker_cmd(driver, iters, extra)
    try:
        pr = subprocess.run(cmd, env=_env_for(libdir, profile), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=120,
                            preexec_fn=_PREEXEC)
    except (OSError, subprocess.SubprocessError) as e:
        raise GateError("running %s: %s" % (" ".join(cmd), e))
    if pr.returncode != 0:
        raise GateError("%s exited %d:\n%s" % (" ".join(cmd), pr.returncode, pr.stdout[-2000:]))
    ops, ns = _parse_result(pr.stdout, _lib(libdir), cmd)
    return ops * 1e9 / ns


def callgrind_ir_per_op(jobs, tmpdir):
    """jobs: list of (key, driver, libdir, profile, iters, extra). Runs them
    under callgrind, two at a time (the counts do not depend on the load),
    and returns {key: Ir per op of the measured loop}."""
    if shutil.which("valgrind") is None:
        raise GateError("valgrind not found (tools/setup.sh installs it)")
    result = {}
    pending = list(enumerate(jobs))
    while pending:
        batch, pending = pending[:2], pending[2:]
        procs = []
        for idx, (key, driver, libdir, profile, iters, extra) in batch:
            out = os.path.join(tmpdir, "cg.%d.out" % idx)
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + \
                _worker_cmd(driver, iters, extra)
            f = tempfile.TemporaryFile(mode="w+", dir=tmpdir)
            try:
                p = subprocess.Popen(cmd, env=_env_for(libdir, profile), stdout=f,
                                     stderr=subprocess.DEVNULL, text=True)
            except OSError as e:
                raise GateError("running %s: %s" % (" ".join(cmd), e))
            procs.append((key, cmd, p, f, out, libdir))
        for key, cmd, p, f, out, libdir in procs:
            rc = p.wait()
            f.seek(0)
            text = f.read()
            f.close()
            if rc != 0:
                raise GateError("%s exited %d:\n%s" % (" ".join(cmd), rc, text[-2000:]))
            ops, _ = _parse_result(text, _lib(libdir), cmd)
            try:
                with open(out + ".1") as cg:
                    m = re.search(r"^summary:\s+(\d+)", cg.read(), re.M)
            except OSError as e:
                raise GateError("callgrind dump of the loop missing (%s): is the driver built "
                                "with valgrind/callgrind.h?" % e)
            if m is None:
                raise GateError("no 'summary:' in %s.1" % out)
            result[key] = int(m.group(1)) / ops
    return result


def file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


# ---- report ----------------------------------------------------------------


def _fmt_ops(x):
    return "%.2fM" % (x / 1e6)


def ir_line(name, r):
    return ("%-20s Ir/op  baseline %8.2f  new %8.2f  ratio %.4f  threshold: fail if new > "
            "%.2f x baseline  evidence: callgrind of the loop, %d iters each, deterministic  %s"
            % (name, r["baseline"], r["head"], r["ratio"], r["threshold"], r["iters"],
               r["status"].upper()))


def ops_line(name, r):
    hist = "->".join(str(x["n"]) for x in r["rounds"])
    return ("%-20s ops/s  baseline %s  new %s  ratio %.4f (median %.4f)  threshold: fail if "
            "ratio < %.2f, p < %g and beyond %.2f se  evidence: n=%d pairs (rounds %s%s), se %.2f%%, "
            "Wilcoxon p=%.3g; %s  %s"
            % (name, _fmt_ops(r["baseline"]), _fmt_ops(r["head"]), r["ratio"], r["median_ratio"],
               OPS_THRESHOLD, ALPHA, Z_FAIL, r["n"], hist, ", re-measured" if r["remeasured"] else "",
               100 * r["se"], r["p"], r["reason"], r["status"].upper()))


# ---- main ------------------------------------------------------------------


def parse_series(spec):
    if ":" in spec:
        w, prof = spec.split(":", 1)
    else:
        w, prof = spec, ""
    if not re.fullmatch(r"[A-Za-z0-9_]+", w) or not re.fullmatch(r"[A-Za-z0-9_]*", prof):
        raise GateError("bad series %r (want WORKLOAD[:PROFILE])" % spec)
    return w, prof or None


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="HAKMEM performance regression gate: HEAD vs BASELINE libhakmem.so.",
        epilog="Exit status: 0 pass, 1 regression, 2 usage or infrastructure error.")
    ap.add_argument("--head", required=True, help="directory holding HEAD's libhakmem.so")
    ap.add_argument("--baseline", required=True, help="directory holding the baseline libhakmem.so")
    ap.add_argument("--bin", required=True,
                    help="directory holding the driver binaries (mixed, c7_only, ...), -c opt")
    ap.add_argument("--series", action="append",
                    help="WORKLOAD[:PROFILE], repeatable (default: %s)" % ", ".join(DEFAULT_SERIES))
    ap.add_argument("--iters", type=int, default=500000,
                    help="loop iterations per timed worker run (default 500000, ~5 ms)")
    ap.add_argument("--cg-iters", type=int, default=200000,
                    help="loop iterations of the callgrind runs (default 200000)")
    ap.add_argument("--sched", choices=("fifo", "normal"), default="fifo",
                    help="scheduling of the timed workers (default fifo: SCHED_FIFO priority 1 "
                    "when permitted, else normal)")
    ap.add_argument("--no-ir", action="store_true", help="skip (a), instructions per op")
    ap.add_argument("--no-ops", action="store_true", help="skip (b), ops/s")
    ap.add_argument("--head-label", default="HEAD")
    ap.add_argument("--baseline-label", default="baseline")
    ap.add_argument("--json", help="write the JSON summary to this file")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        return run(args)
    except GateError as e:
        print("gate: error: %s" % e, file=sys.stderr)
        return 2


def run(args):
    t_start = time.monotonic()
    series = [parse_series(s) for s in (args.series or DEFAULT_SERIES)]
    for d in (args.head, args.baseline):
        if not os.path.isfile(_lib(d)):
            raise GateError("%s not found (the library must be named libhakmem.so)" % _lib(d))
    drivers = {}
    for w, _ in series:
        drivers[w] = os.path.join(args.bin, w)
        if not os.access(drivers[w], os.X_OK):
            raise GateError("driver %s not found or not executable" % drivers[w])
    if args.iters < 1000 or args.cg_iters < 1000:
        raise GateError("--iters and --cg-iters must be >= 1000")
    head_hash, base_hash = file_hash(_lib(args.head)), file_hash(_lib(args.baseline))
    global _ENV_SIZE
    _ENV_SIZE = max(len(_lib(args.head)), len(_lib(args.baseline)))
    sched = configure_sched(args.sched)
    print("gate: head %s (%s, lib %s)  baseline %s (%s, lib %s)%s" % (
        args.head_label, _lib(args.head), head_hash, args.baseline_label, _lib(args.baseline),
        base_hash, "  [identical libraries]" if head_hash == base_hash else ""))
    print("gate: timed workers: %d loop iterations, scheduling %s" % (args.iters, sched))
    sys.stdout.flush()

    results = {s: {} for s in series}
    lines = []
    if not args.no_ir:
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="hakmem-gate-") as tmp:
            jobs = []
            for w, prof in series:
                for side, d in (("baseline", args.baseline), ("head", args.head)):
                    jobs.append(((w, prof, side), drivers[w], d, prof, args.cg_iters, ()))
            ir = callgrind_ir_per_op(jobs, tmp)
        for s in series:
            r = decide_ir(ir[s + ("baseline",)], ir[s + ("head",)])
            r["iters"] = args.cg_iters
            results[s]["ir"] = r
        print("gate: (a) instructions/op: %d callgrind runs in %.1f s" % (len(jobs), time.monotonic() - t0))

    for w, prof in series:
        name = "%s/%s" % (w, prof or "-")
        if "ir" in results[(w, prof)]:
            line = ir_line(name, results[(w, prof)]["ir"])
            print(line)
            lines.append(line)
        if args.no_ops:
            continue
        t0 = time.monotonic()
        # Warm-up pair (page cache, first exec of each library): not counted.
        run_worker(drivers[w], args.baseline, prof, args.iters)
        run_worker(drivers[w], args.head, prof, args.iters)

        def sample(k, start, w=w, prof=prof):
            out = []
            for i in range(start, start + k):
                if i % 2 == 0:
                    b = run_worker(drivers[w], args.baseline, prof, args.iters)
                    h = run_worker(drivers[w], args.head, prof, args.iters)
                else:
                    h = run_worker(drivers[w], args.head, prof, args.iters)
                    b = run_worker(drivers[w], args.baseline, prof, args.iters)
                out.append((b, h))
            return out

        r = decide_ops(sample)
        r["baseline"] = median([b for b, _ in r["pairs"]])
        r["head"] = median([h for _, h in r["pairs"]])
        r["seconds"] = time.monotonic() - t0
        results[(w, prof)]["ops"] = r
        line = ops_line(name, r) + "  (%.1f s)" % r["seconds"]
        print(line)
        lines.append(line)
        sys.stdout.flush()

    # Summary.
    out_series = []
    failed = []
    for w, prof in series:
        res = results[(w, prof)]
        fails = [m for m in ("ir", "ops") if m in res and res[m]["status"] == "fail"]
        details = []
        if "ir" in res:
            r = res["ir"]
            details.append("ir_per_op %.2f vs %.2f (x%.4f, limit x%.2f) %s"
                           % (r["head"], r["baseline"], r["ratio"], r["threshold"], r["status"]))
        if "ops" in res:
            r = res["ops"]
            details.append("ops ratio %.4f (median %.4f) n=%d se=%.4f p=%.3g limit %.2f%s %s"
                           % (r["ratio"], r["median_ratio"], r["n"], r["se"], r["p"], OPS_THRESHOLD,
                              " re-measured" if r["remeasured"] else "", r["status"]))
        status = "fail" if fails else "pass"
        metric = ",".join({"ir": "ir_per_op", "ops": "ops_ratio"}[m]
                          for m in (fails or [m for m in ("ir", "ops") if m in res]))
        if fails:
            failed.append("%s/%s (%s)" % (w, prof or "-", metric))
        entry = {
            "workload": w, "profile": prof, "variant": None, "threads": 1, "allocator": "hakmem",
            "gate": {"status": status, "metric": metric,
                     "detail": "vs %s: %s" % (args.baseline_label, "; ".join(details))},
        }
        if "ir" in res:
            entry["ir"] = res["ir"]
        if "ops" in res:
            r = dict(res["ops"])
            r["pairs"] = [[round(b), round(h)] for b, h in r["pairs"]]
            entry["ops"] = r
        out_series.append(entry)
    status = "fail" if failed else "pass"
    elapsed = time.monotonic() - t_start
    summary = {
        "schema": 1,
        "tool": "tools/gate.py",
        "status": status,
        "head": {"label": args.head_label, "lib_hash": head_hash},
        "baseline": {"label": args.baseline_label, "lib_hash": base_hash},
        "config": {"iters": args.iters, "sched": sched, "cg_iters": args.cg_iters, "ir_threshold": IR_THRESHOLD,
                   "ops_threshold": OPS_THRESHOLD, "alpha": ALPHA, "se_target": SE_TARGET,
                   "z_pass": Z_PASS, "z_fail": Z_FAIL, "trim": TRIM, "schedule": list(SCHEDULE)},
        "series": out_series,
        "seconds": round(elapsed, 1),
    }
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(summary, f, indent=1)
                f.write("\n")
        except OSError as e:
            raise GateError("writing %s: %s" % (args.json, e))
    print("gate: %s in %.1f s%s" % (status.upper(), elapsed,
                                     ": regression in " + ", ".join(failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
