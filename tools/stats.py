"""tools/stats.py — the statistics the performance tools share (gate.py,
bench_history.py, dashboard.py, record.py): thin wrappers over numpy and
scipy.stats, so that no tool carries its own test statistics.

Needs Debian's python3-numpy and python3-scipy (tools/setup.sh installs them);
run the tools with /usr/bin/python3 (a pyenv python on PATH does not see
Debian's packages: a script run by another python3 that cannot import them is
re-executed once under /usr/bin/python3; otherwise the import fails with a
message saying what to install).

  median(xs), mad(xs)            the drivers' definitions (raw MAD, not scaled);
                                 None for an empty sequence
  trimmed_mean_se(xs, trim)      scipy.stats.trim_mean and the Tukey-McLaughlin
                                 standard error (as scipy.stats.mstats.trimmed_stde)
  wilcoxon_p_less(ds)            one-sided Wilcoxon signed-rank p-value of
                                 "the location of ds is below 0"
                                 (scipy.stats.wilcoxon: exact below 20 values
                                 without ties, else normal approximation)
  bootstrap_ci(xs, stat, level)  percentile bootstrap confidence interval
                                 (scipy.stats.bootstrap, seeded: reproducible)
"""

import os
import sys
import warnings

try:
    import numpy as np
    from scipy import stats as _st
except ImportError as _e:  # pragma: no cover - depends on the machine
    # Another python3 first on PATH (pyenv) does not see Debian's packages: run
    # the same script again under Debian's interpreter, once.
    _deb = "/usr/bin/python3"
    if (os.environ.get("HAKMEM_STATS_REEXEC") != "1" and os.access(_deb, os.X_OK)
            and os.path.realpath(sys.executable) != os.path.realpath(_deb)
            and sys.argv and os.path.isfile(sys.argv[0])):
        os.environ["HAKMEM_STATS_REEXEC"] = "1"
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(_deb, [_deb] + sys.argv)
    raise ImportError(
        "%s: the performance tools need numpy and scipy (Debian: apt-get install python3-numpy "
        "python3-scipy, done by tools/setup.sh) under /usr/bin/python3" % _e)


EXACT_MAX = 20  # wilcoxon_p_less: exact below this many non-zero values


def median(xs):
    a = np.asarray(list(xs), dtype=float)
    if a.size == 0:
        return None
    return float(np.median(a))


def mad(xs):
    a = np.asarray(list(xs), dtype=float)
    if a.size == 0:
        return None
    return float(np.median(np.abs(a - np.median(a))))


def trimmed_mean_se(xs, trim=0.2):
    """(trimmed mean, its standard error): int(trim n) values cut from each
    end; the standard error from the winsorized variance (Tukey-McLaughlin)."""
    a = np.asarray(list(xs), dtype=float)
    if a.size < 3:
        raise ValueError("trimmed mean needs >= 3 values")
    est = float(_st.trim_mean(a, trim))
    # scipy.stats.mstats.trimmed_stde(a, (trim, trim), inclusive=(True, True))
    # computes the same through masked arrays, 50x slower: the gate's tests
    # call this thousands of times. Winsorize at the g-th values, then
    # sd / ((1 - 2 trim) sqrt(n)).
    s = np.sort(a)
    g = int(trim * a.size)
    w = np.clip(a, s[g], s[a.size - g - 1])
    se = float(np.std(w, ddof=1) / ((1.0 - 2.0 * trim) * np.sqrt(a.size)))
    return est, se


def wilcoxon_p_less(ds):
    """One-sided Wilcoxon signed-rank p-value for H1 "ds is located below 0"
    (zeros dropped; exact null distribution for small samples without ties,
    else the normal approximation with tie and continuity corrections)."""
    a = np.asarray([d for d in ds if d != 0.0], dtype=float)
    if a.size == 0:
        return 1.0
    # Exact null distribution for small samples without ties (scipy computes
    # it per call: ~10 ms at n = 24), else the normal approximation.
    method = "exact" if a.size < EXACT_MAX and np.unique(np.abs(a)).size == a.size else "approx"
    kw = {"alternative": "less", "zero_method": "wilcox", "method": method}
    if method == "approx":
        kw["correction"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sample size too small for normal approximation"
        return float(_st.wilcoxon(a, **kw).pvalue)


def bootstrap_ci(xs, stat=np.median, level=0.95, resamples=2000, seed=12345):
    """(low, high) percentile bootstrap interval of stat over xs (seeded).
    None for fewer than 3 values or a constant sample."""
    a = np.asarray(list(xs), dtype=float)
    if a.size < 3 or np.all(a == a[0]):
        return None
    r = _st.bootstrap((a,), stat, confidence_level=level, n_resamples=resamples, method="percentile",
                      random_state=np.random.default_rng(seed), vectorized=False)
    return float(r.confidence_interval.low), float(r.confidence_interval.high)
