#!/usr/bin/env python3
"""tools/gate_test.py — tests of the regression gate's decisions (tools/gate.py)
on synthetic, seeded histories: pure noise never fails, a real 5% drop fails,
a 10% improvement passes, a 10% drop of a noisier multi-threaded series
fails, the instruction-count limit sits at +3%, peak RSS fails above +10% and
+1 MiB only when the re-measurement agrees, three stacked ~2% slowdowns fail
against the recorded baseline while each passes against its parent; the
chain of baselines (tools/history.py) in a scratch git repository: the newest
recorded proper ancestor, source identity; recording (tools/record.py)
refuses a regression without a reason and stores the reason; the statistics
(scipy through tools/stats.py) agree with exact enumeration.
Run by `bazel test //tools:gate_test` or directly with /usr/bin/python3."""

import io
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate  # noqa: E402
import history  # noqa: E402
import record  # noqa: E402
import stats  # noqa: E402


def synthetic_sampler(rng, sigma, effect, outlier_p=0.03, drift_sigma=0.05, order_bias=0.01):
    """Paired (baseline, head) ops/s like the shared machine's: a load factor
    shared by the two runs of a pair (drift), independent lognormal per-run
    noise of sigma, occasional outlier runs (descheduled: 20-70% slower), the
    second run of a pair 1% faster (order effect), and head = effect x
    baseline. The gate alternates the order of the pair as the real sampler
    does."""

    def one(load, second):
        x = 80e6 / load * rng.lognormvariate(0.0, sigma)
        if rng.random() < outlier_p:
            x *= rng.uniform(0.3, 0.8)
        if second:
            x *= 1.0 + order_bias
        return x

    def sample(k, start):
        out = []
        for i in range(start, start + k):
            load = rng.lognormvariate(0.0, drift_sigma)
            if i % 2 == 0:
                b = one(load, False)
                h = effect * one(load, True)
            else:
                h = effect * one(load, False)
                b = one(load, True)
            out.append((b, h))
        return out

    return sample


def run_trials(seed, trials, effect):
    """Decisions of `trials` synthetic gate runs with per-run noise drawn
    from 3-10%; returns the list of result dicts."""
    rng = random.Random(seed)
    results = []
    for _ in range(trials):
        sigma = rng.uniform(0.03, 0.10)
        results.append(gate.decide_ops(synthetic_sampler(rng, sigma, effect)))
    return results


class OpsDecisionTest(unittest.TestCase):
    TRIALS = 500

    def test_pure_noise_never_fails(self):
        res = run_trials(1, self.TRIALS, 1.0)
        fails = [r for r in res if r["status"] == "fail"]
        self.assertEqual(fails, [], "noise failed %d of %d" % (len(fails), len(res)))
        # The procedure really is sequential: some runs stop early, some are re-measured.
        self.assertTrue(any(r["n"] == gate.SCHEDULE[0] for r in res))
        self.assertTrue(any(r["remeasured"] for r in res))

    def test_real_5_percent_drop_fails(self):
        res = run_trials(2, self.TRIALS, 0.95)
        fails = [r for r in res if r["status"] == "fail"]
        self.assertGreaterEqual(len(fails), 0.99 * len(res),
                                "a 5%% drop failed only %d of %d" % (len(fails), len(res)))
        # A fail is never decided on the first round: it was re-measured.
        self.assertTrue(all(r["remeasured"] and len(r["rounds"]) >= 2 for r in fails))
        for r in fails:
            self.assertLess(r["ratio"], gate.OPS_THRESHOLD)
            self.assertLess(r["p"], gate.ALPHA)

    def test_10_percent_improvement_passes(self):
        res = run_trials(3, self.TRIALS, 1.10)
        self.assertEqual([r for r in res if r["status"] == "fail"], [])

    def test_small_drop_below_threshold_size_passes(self):
        # 1% slower is real but below the 3% minimum effect: never a fail.
        res = run_trials(4, 300, 0.99)
        self.assertEqual([r for r in res if r["status"] == "fail"], [])

    def test_large_drop_fails_even_on_a_very_noisy_machine(self):
        rng = random.Random(5)
        res = [gate.decide_ops(synthetic_sampler(rng, 0.25, 0.85, outlier_p=0.1)) for _ in range(50)]
        self.assertTrue(all(r["status"] == "fail" for r in res))

    def test_deterministic_regression_without_noise(self):
        r = gate.decide_ops(lambda k, start: [(100.0, 94.0)] * k)
        self.assertEqual(r["status"], "fail")
        self.assertEqual(r["n"], gate.SCHEDULE[1])  # re-measured once, then decided
        r = gate.decide_ops(lambda k, start: [(100.0, 100.0)] * k)
        self.assertEqual(r["status"], "pass")

    def test_sampler_contract(self):
        with self.assertRaises(gate.GateError):
            gate.decide_ops(lambda k, start: [(1.0, 1.0)])


class IrDecisionTest(unittest.TestCase):
    def test_threshold(self):
        self.assertEqual(gate.decide_ir(100.0, 102.9)["status"], "pass")
        self.assertEqual(gate.decide_ir(100.0, 103.1)["status"], "fail")
        self.assertEqual(gate.decide_ir(127.11, 127.11)["status"], "pass")
        self.assertEqual(gate.decide_ir(127.11, 90.0)["status"], "pass")
        self.assertAlmostEqual(gate.decide_ir(100.0, 110.0)["ratio"], 1.1)


class StatisticsTest(unittest.TestCase):
    def test_wilcoxon_exact_matches_enumeration(self):
        rng = random.Random(7)
        for n in range(1, 11):
            d = [rng.uniform(-1, 1) for _ in range(n)]
            mags = sorted(abs(x) for x in d)
            rank = {m: i + 1 for i, m in enumerate(mags)}
            w_obs = sum(rank[abs(x)] for x in d if x > 0)
            le = 0
            for signs in itertools.product((0, 1), repeat=n):
                if sum(r for r, s in zip(range(1, n + 1), signs) if s) <= w_obs:
                    le += 1
            self.assertAlmostEqual(gate.wilcoxon_p_less(d), le / 2 ** n, places=12)

    def test_wilcoxon_known_values(self):
        self.assertAlmostEqual(gate.wilcoxon_p_less([-1.0 - i for i in range(10)]), 1 / 1024)
        self.assertAlmostEqual(gate.wilcoxon_p_less([1.0 + i for i in range(10)]), 1.0)
        self.assertEqual(gate.wilcoxon_p_less([0.0, 0.0]), 1.0)

    def test_wilcoxon_normal_approximation_close_to_exact(self):
        from scipy import stats as st
        rng = random.Random(8)
        for _ in range(20):
            d = [rng.gauss(-0.2, 1) for _ in range(50)]
            exact = float(st.wilcoxon(d, alternative="less", method="exact").pvalue)
            self.assertLess(abs(exact - gate.wilcoxon_p_less(d)), 0.01)  # n >= 20: approximation

    def test_trimmed_se_matches_scipy_mstats(self):
        from scipy.stats import mstats
        rng = random.Random(12)
        for n in (3, 10, 24, 72, 216):
            xs = [rng.gauss(0, 1) for _ in range(n)]
            want = float(mstats.trimmed_stde(xs, limits=(0.2, 0.2), inclusive=(True, True)))
            self.assertAlmostEqual(gate.trimmed_mean_se(xs)[1], want, places=12)

    def test_bootstrap_interval_covers_the_median(self):
        rng = random.Random(11)
        xs = [rng.gauss(1.0, 0.1) for _ in range(60)]
        lo, hi = stats.bootstrap_ci(xs)
        self.assertLess(lo, stats.median(xs))
        self.assertGreater(hi, stats.median(xs))
        self.assertIsNone(stats.bootstrap_ci([1.0, 1.0, 1.0]))

    def test_mad(self):
        self.assertEqual(stats.mad([1, 2, 3, 4, 100]), 1.0)
        self.assertIsNone(stats.mad([]))

    def test_wilcoxon_with_ties(self):
        p = gate.wilcoxon_p_less([-1.0, -1.0, -1.0, -2.0, -2.0, 0.5, -3.0, -3.0])
        self.assertLess(p, 0.05)

    def test_wilcoxon_null_is_uniformish(self):
        rng = random.Random(9)
        ps = [gate.wilcoxon_p_less([rng.gauss(0, 1) for _ in range(30)]) for _ in range(2000)]
        frac = sum(p < 0.05 for p in ps) / len(ps)
        self.assertGreater(frac, 0.03)
        self.assertLess(frac, 0.07)

    def test_trimmed_mean(self):
        est, se = gate.trimmed_mean_se([1, 2, 3, 4, 5, 6, 7, 8, 9, 1000])
        self.assertAlmostEqual(est, 5.5)  # 2 cut from each end
        rng = random.Random(10)
        xs = [rng.gauss(0.0, 1.0) for _ in range(10000)]
        est, se = gate.trimmed_mean_se(xs)
        self.assertLess(abs(est), 0.05)
        # efficiency of the 20% trimmed mean at the normal: se ~ 1.05 / sqrt(n)
        self.assertGreater(se * 100, 0.98)
        self.assertLess(se * 100, 1.12)
        with self.assertRaises(ValueError):
            gate.trimmed_mean_se([1.0, 2.0])

    def test_median(self):
        self.assertEqual(gate.median([3, 1, 2]), 2)
        self.assertEqual(gate.median([4, 1, 2, 3]), 2.5)


class MultiThreadedTest(unittest.TestCase):
    """2-thread series (larson, mid_large_mt) are noisier on the shared
    machine: per-run noise drawn from 5-20%, more outliers."""

    def trials(self, seed, n, effect):
        rng = random.Random(seed)
        return [gate.decide_ops(synthetic_sampler(rng, rng.uniform(0.05, 0.20), effect, outlier_p=0.06,
                                                  drift_sigma=0.10)) for _ in range(n)]

    def test_10_percent_slowdown_of_a_multithreaded_series_fails(self):
        res = self.trials(21, 300, 0.90)
        fails = [r for r in res if r["status"] == "fail"]
        self.assertGreaterEqual(len(fails), 0.99 * len(res), "%d of %d" % (len(fails), len(res)))

    def test_multithreaded_noise_never_fails(self):
        res = self.trials(22, 300, 1.0)
        self.assertEqual([r for r in res if r["status"] == "fail"], [])

    def test_series_spec(self):
        self.assertEqual(gate.parse_series("larson@2"), ("larson", None, 2))
        self.assertEqual(gate.parse_series("mixed:LEGACY"), ("mixed", "LEGACY", 1))
        self.assertEqual(gate.parse_series("mid_large_mt:C7_SAFE@4"), ("mid_large_mt", "C7_SAFE", 4))
        for bad in ("x@0", "a b", "mixed@", "mixed:LEG-ACY"):
            with self.assertRaises(gate.GateError):
                gate.parse_series(bad)
        self.assertIn("larson@2", gate.DEFAULT_SERIES)
        self.assertIn("mid_large_mt@2", gate.DEFAULT_SERIES)
        self.assertIn("xthread@2", gate.DEFAULT_SERIES)
        # The timed drivers get a work-bounded run (--iters alone); larson's
        # threads hand off within it (lives of 10 rounds of its 5000 slots).
        self.assertEqual(gate._series_args("larson", 2), ("--threads=2", "--rounds=10"))
        self.assertEqual(gate._series_args("xthread", 2), ("--threads=2",))
        self.assertGreaterEqual(gate.WORKLOAD_ITERS["larson"] // (10 * 5000), 2)


class RssDecisionTest(unittest.TestCase):
    @staticmethod
    def runs(rng, kib, n=24, jitter=0.01):
        return [kib * (1 + rng.uniform(-jitter, jitter)) for _ in range(n)]

    def test_20_percent_more_peak_rss_fails(self):
        rng = random.Random(31)
        for base in (6004, 12000, 48000):  # +20% > 1 MiB
            calls = []

            def again(base=base, calls=calls):
                calls.append(1)
                return self.runs(rng, base, 8), self.runs(rng, base * 1.2, 8)

            r = gate.decide_rss(self.runs(rng, base), self.runs(rng, base * 1.2), again)
            self.assertEqual(r["status"], "fail", r)
            self.assertTrue(r["remeasured"])
            self.assertEqual(len(calls), 1)

    def test_within_limits_passes_without_remeasuring(self):
        rng = random.Random(32)

        def never():
            raise AssertionError("re-measured a clear pass")

        self.assertEqual(gate.decide_rss(self.runs(rng, 6000), self.runs(rng, 6000 * 1.09), never)["status"], "pass")
        # +20% but only ~600 KiB: below the absolute limit.
        self.assertEqual(gate.decide_rss(self.runs(rng, 3000), self.runs(rng, 3600), never)["status"], "pass")
        # less memory is never a regression
        self.assertEqual(gate.decide_rss(self.runs(rng, 6000), self.runs(rng, 3000), never)["status"], "pass")

    def test_transient_spike_passes_after_remeasurement(self):
        rng = random.Random(33)
        r = gate.decide_rss(self.runs(rng, 5000), self.runs(rng, 7000),
                            lambda: (self.runs(rng, 5000, 8), self.runs(rng, 5000, 8)))
        self.assertEqual(r["status"], "pass")
        self.assertTrue(r["remeasured"])

    def test_noise_never_fails(self):
        rng = random.Random(34)
        for _ in range(500):
            kib = rng.uniform(2000, 60000)
            r = gate.decide_rss(self.runs(rng, kib, jitter=0.05), self.runs(rng, kib, jitter=0.05),
                                lambda kib=kib: (self.runs(rng, kib, 8, 0.05), self.runs(rng, kib, 8, 0.05)))
            self.assertEqual(r["status"], "pass")


class StackedSlowdownTest(unittest.TestCase):
    """Three commits each ~2% slower (the gate_slowdown units: +2.0 Ir/op of
    127.12 on mixed, +1.6%): against the parent each passes, against
    the recorded baseline (the chain) the third fails, on Ir/op
    deterministically and on ops/s."""

    def test_ir_ratchet_against_the_recorded_value(self):
        recorded = 127.12
        irs = [recorded + 2.0 * k for k in range(4)]
        for k in range(1, 4):
            self.assertEqual(gate.decide_ir(irs[k - 1], irs[k])["status"], "pass")  # pairwise
        self.assertEqual(gate.decide_ir(recorded, irs[1])["status"], "pass")
        self.assertEqual(gate.decide_ir(recorded, irs[3])["status"], "fail")  # vs the recorded baseline

    def test_ops_pairwise_pass_stacked_fail(self):
        rng = random.Random(41)
        pair = [gate.decide_ops(synthetic_sampler(rng, rng.uniform(0.03, 0.10), 0.98)) for _ in range(300)]
        stacked = [gate.decide_ops(synthetic_sampler(rng, rng.uniform(0.03, 0.10), 0.98 ** 3))
                   for _ in range(300)]
        pair_fails = sum(r["status"] == "fail" for r in pair)
        stacked_fails = sum(r["status"] == "fail" for r in stacked)
        self.assertLessEqual(pair_fails, 0.10 * len(pair), "pairwise 2%% failed %d of 300" % pair_fails)
        self.assertGreaterEqual(stacked_fails, 0.95 * len(stacked), "stacked 6%% failed %d of 300" % stacked_fails)

    def test_recorded_ir_lookup(self):
        base = {"kind": "landing", "commit": "a" * 40, "allocator": "hakmem", "workload": "mixed",
                "profile": "LEGACY", "threads": 1, "ir_per_op": 127.12, "cg_iters": 200000,
                "machine": {"compiler": "gcc 12"}}
        lines = [base,
                 dict(base, workload="larson", profile=None, threads=2, ir_per_op=175.2),
                 dict(base, workload="c7_only", machine={"compiler": "clang 14"}),
                 dict(base, workload="fixed_size", cg_iters=1000),
                 dict(base, workload="c6_heavy", kind=None),
                 dict(base, commit="b" * 40, workload="c6_heavy")]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "h.jsonl")
            with open(path, "w") as f:
                f.write("".join(json.dumps(x) + "\n" for x in lines) + "not json\n")
            got = gate.recorded_ir(path, "a" * 40, "gcc 12", 200000)
        self.assertEqual(got, {("mixed", "LEGACY", 1): (127.12, "a" * 40),
                               ("larson", None, 2): (175.2, "a" * 40)})


def _git(repo, *args):
    return subprocess.run(["git", "-C", repo] + list(args), check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=dict(
                              os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                              GIT_COMMITTER_EMAIL="t@t")).stdout.strip()


@unittest.skipIf(shutil.which("git") is None, "git not installed")
class ChainOfBaselinesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.repo = self.tmp.name
        _git(self.repo, "init", "-q")
        os.makedirs(os.path.join(self.repo, "hakmem"))
        os.makedirs(os.path.join(self.repo, "benchmarks", "history"))
        self.hist = os.path.join(self.repo, "benchmarks", "history", "history.jsonl")

    def tearDown(self):
        self.tmp.cleanup()

    def commit(self, path, text, msg):
        full = os.path.join(self.repo, path)
        with open(full, "w") as f:
            f.write(text)
        _git(self.repo, "add", path)
        _git(self.repo, "commit", "-q", "-m", msg)
        return _git(self.repo, "rev-parse", "HEAD")

    def record(self, commit):
        with open(self.hist, "a") as f:
            f.write(json.dumps({"kind": "landing", "commit": commit, "workload": "mixed"}) + "\n")

    def test_newest_recorded_proper_ancestor(self):
        c1 = self.commit("hakmem/a.c", "1", "c1")
        self.assertIsNone(history.pick_baseline(self.repo, history.load(self.hist)))
        self.record(c1)
        c2 = self.commit("benchmarks/history/history.jsonl", open(self.hist).read(), "record c1")
        c3 = self.commit("hakmem/a.c", "2", "c3")
        self.record(c3)
        # HEAD is c3 (recorded itself): the baseline is a PROPER ancestor.
        self.assertEqual(history.pick_baseline(self.repo, history.load(self.hist)), c1)
        self.assertEqual(history.pick_baseline(self.repo, history.load(self.hist), include_rev=True), c3)
        c4 = self.commit("benchmarks/history/history.jsonl", open(self.hist).read(), "record c3")
        self.assertEqual(history.pick_baseline(self.repo, history.load(self.hist)), c3)
        # A commit recorded on another branch (not an ancestor) and an unknown one are skipped.
        _git(self.repo, "checkout", "-q", "-b", "side", c2)
        side = self.commit("hakmem/a.c", "side", "side")
        _git(self.repo, "checkout", "-q", "-")
        self.record(side)
        self.record("f" * 40)
        self.assertEqual(history.pick_baseline(self.repo, history.load(self.hist)), c3)
        self.assertEqual(history.recorded_commits(history.load(self.hist)), [c1, c3, side, "f" * 40])
        self.assertEqual(history.pick_baseline(self.repo, history.load(self.hist), rev=c2), c1)
        del c4

    def test_sources_identical(self):
        c1 = self.commit("hakmem/a.c", "1", "c1")
        self.commit("benchmarks/history/history.jsonl", "{}\n", "history only")
        self.commit("README.md", "docs", "docs only")
        self.assertEqual(history.differing_sources(self.repo, c1), [])
        with open(os.path.join(self.repo, "benchmarks", "mixed.c"), "w") as f:
            f.write("new driver")  # untracked counts
        self.assertEqual(history.differing_sources(self.repo, c1), ["benchmarks/mixed.c"])
        os.remove(os.path.join(self.repo, "benchmarks", "mixed.c"))
        with open(os.path.join(self.repo, "hakmem", "a.c"), "w") as f:
            f.write("2")  # uncommitted change in the working tree
        self.assertEqual(history.differing_sources(self.repo, c1), ["hakmem/a.c"])
        # Only the drivers' inputs: a library change is not a driver change.
        self.assertEqual(history.differing_sources(self.repo, c1, history.DRIVER_PATHS), [])
        with open(os.path.join(self.repo, "benchmarks", "larson.c"), "w") as f:
            f.write("the real one")
        self.assertEqual(history.differing_sources(self.repo, c1, history.DRIVER_PATHS), ["benchmarks/larson.c"])


class RecordTest(unittest.TestCase):
    SUMMARY = {
        "status": "fail", "head": {"lib_hash": "0123456789abcdef"}, "config": {"cg_iters": 200000},
        "series": [
            {"workload": "mixed", "profile": "LEGACY", "threads": 1,
             "gate": {"status": "fail", "metric": "ops_ratio", "detail": "ops ratio 0.94"},
             "ir": {"head": 133.12, "baseline": 127.12, "ratio": 1.047},
             "ops": {"ratio": 0.94, "ci": [0.93, 0.95], "iters": 500000, "pairs": [[100, 94], [100, 95], [99, 93]]},
             "rss": {"head": 3092, "baseline": 3092, "ratio": 1.0}},
            {"workload": "larson", "profile": None, "threads": 2,
             "gate": {"status": "pass", "metric": "ir_per_op,ops_ratio,peak_rss", "detail": "ok"},
             "ir": {"head": 175.2, "baseline": 175.2, "ratio": 1.0},
             "ops": {"ratio": 1.0, "ci": None, "iters": 200000, "pairs": [[10, 10]]},
             "rss": {"head": 4728, "baseline": 4728, "ratio": 1.0}},
        ],
    }

    def run_record(self, d, *extra):
        summ = os.path.join(d, "s.json")
        with open(summ, "w") as f:
            json.dump(self.SUMMARY, f)
        with open(os.devnull, "w") as null:
            old, sys.stderr, sys.stdout = (sys.stderr, sys.stdout), null, null
            try:
                return record.main(["--summary", summ, "--commit", "c" * 40, "--baseline", "b" * 40,
                                    "--history", os.path.join(d, "h.jsonl")] + list(extra))
            finally:
                sys.stderr, sys.stdout = old

    def test_refuses_a_regression_without_a_reason(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(self.run_record(d), 1)
            self.assertEqual(history.load(os.path.join(d, "h.jsonl")), [])
            self.assertEqual(self.run_record(d, "--reason", "  "), 2)

    def test_records_the_reason(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(self.run_record(d, "--reason", "correctness fix, costs 6% on mixed"), 0)
            lines = history.load(os.path.join(d, "h.jsonl"))
            self.assertEqual(len(lines), 2)
            mixed, larson = lines
            self.assertEqual(mixed["kind"], "landing")
            self.assertEqual(mixed["accepted_regression"], "correctness fix, costs 6% on mixed")
            self.assertIsNone(larson["accepted_regression"])  # it did not regress
            self.assertEqual((mixed["ir_per_op"], mixed["peak_rss_kib"], mixed["median_ops"]), (133.12, 3092, 94))
            self.assertEqual((larson["threads"], larson["baseline"], larson["cg_iters"]), (2, "b" * 40, 200000))
            for k in ("schema", "commit", "date", "machine", "workload", "profile", "variant", "threads",
                      "allocator", "lib_hash", "n", "median_ops", "mad_ops", "ratio_glibc", "ratio_mad",
                      "ir_per_op", "peak_rss_kib", "gate"):
                self.assertIn(k, mixed)
            # Once recorded, not again.
            self.assertEqual(self.run_record(d, "--reason", "x"), 1)
            self.assertEqual(self.run_record(d, "--reason", "x", "--force"), 0)


class CommandLineTest(unittest.TestCase):
    def test_missing_library_is_an_infrastructure_error(self):
        with tempfile.TemporaryDirectory() as d:
            rc = gate.main(["--head", d, "--baseline", d, "--bin", d])
        self.assertEqual(rc, 2)

    def test_bad_usage(self):
        with open(os.devnull, "w") as null:
            old, sys.stderr = sys.stderr, null
            try:
                self.assertEqual(gate.main(["--head"]), 2)
                self.assertEqual(gate.main(["--head", "x", "--bin", "y"]), 2)  # no --baseline
                self.assertEqual(gate.main(["--list-workloads", "--series=a b"]), 2)
            finally:
                sys.stderr = old

    def test_list_workloads(self):
        # ci/gate.sh builds the drivers this names: each once, in series order.
        out = io.StringIO()
        old, sys.stdout = sys.stdout, out
        try:
            rc = gate.main(["--list-workloads"])
            rc2 = gate.main(["--list-workloads", "--series=larson@2", "--series=mixed:C7_SAFE",
                             "--series=larson@4"])
        finally:
            sys.stdout = old
        self.assertEqual((rc, rc2), (0, 0))
        names = out.getvalue().split()
        want = []
        for w, _, _ in map(gate.parse_series, gate.DEFAULT_SERIES):
            if w not in want:
                want.append(w)
        self.assertEqual(names, want + ["larson", "mixed"])
        self.assertIn("xthread", want)


if __name__ == "__main__":
    t0 = time.monotonic()
    prog = unittest.main(exit=False, verbosity=2)
    print("gate_test: %.1f s" % (time.monotonic() - t0))
    sys.exit(0 if prog.result.wasSuccessful() else 1)
