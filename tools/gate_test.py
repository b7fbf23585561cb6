#!/usr/bin/env python3
"""tools/gate_test.py — tests of the regression gate's decisions (tools/gate.py)
on synthetic, seeded histories: pure noise never fails, a real 5% drop fails,
a 10% improvement passes, the instruction-count limit sits at +3%, and the
statistics it is built on (exact Wilcoxon signed-rank, trimmed mean) are
right. Run by `bazel test //tools:gate_test` or directly with python3."""

import itertools
import math
import os
import random
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate  # noqa: E402


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
    TRIALS = 1000

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
        rng = random.Random(8)
        for _ in range(20):
            d = [rng.gauss(-0.2, 1) for _ in range(50)]
            exact = gate.wilcoxon_p_less(d, exact_max=50)
            approx = gate.wilcoxon_p_less(d, exact_max=0)
            self.assertLess(abs(exact - approx), 0.01)

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
            finally:
                sys.stderr = old


if __name__ == "__main__":
    t0 = time.monotonic()
    prog = unittest.main(exit=False, verbosity=2)
    print("gate_test: %.1f s" % (time.monotonic() - t0))
    sys.exit(0 if prog.result.wasSuccessful() else 1)
