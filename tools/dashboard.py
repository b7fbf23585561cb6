#!/usr/bin/python3
"""tools/dashboard.py — renders the benchmark history (SPEC §5) as one static
HTML page: no scripts, no external resources, charts are inline SVG.

  python3 tools/dashboard.py [--history=benchmarks/history/history.jsonl]
                             [--out=benchmarks/history/dashboard.html] [--machine=ID] [--last=N]

Reads the lines tools/bench_history.py appends (schema 1). One machine is
shown (default: the machine of the newest line; the others are listed), and
one run is one (date, commit) pair: the x axis of every chart is the runs in
date order (the newest --last, default 120), labelled with the short commit
and the date.

Per workload x threads x HAKMEM profile, four charts:
  ops      ops/s: HAKMEM (line, +-MAD band) and the peers (glibc, mimalloc,
           jemalloc, tcmalloc) as thinner reference lines;
  ratio    HAKMEM's ratio to glibc measured in the same run, with the band
           +-ratio_mad (MAD of the per-round paired ratios); the peers'
           ratios as reference lines; 1.0 = glibc;
  ir       instructions per op (callgrind): HAKMEM and glibc (single-threaded
           workloads only; otherwise a "not measured" note replaces it);
  rss      peak RSS of HAKMEM and the peers.
A line whose "gate" field has status "fail" gets a red marker (with the
gate's metric and detail as its tooltip) on every chart of its group.

Soak lines (workload "soak", from benchmarks/soak.c, with "samples") are
plotted like the other workloads across runs (median ops/s of the intervals,
ratio to glibc, peak RSS), and their latest run per series (allocator, hakmem
per profile) also over time, per thread count: RSS at the end of each
interval ("rss_time") and ops/s of each interval ("ops_time"), x = seconds of
work; a line under the summary table gives each series' RSS and ops/s drift
(end vs the middle of the run, as the driver defines them) and its median
ops/s.

At the top, a summary table: per workload x threads x profile, HAKMEM's
latest ratio to glibc against the median of the (up to) 7 runs before it,
the change divided by the noise (the larger of the latest ratio_mad and the
MAD of those runs), sorted by that score, regressions first; with ops/s,
instructions/op and peak RSS and their change, and the latest gate verdict.

Hooks for tests: every chart is <svg class="chart" data-chart="W|tN|PROFILE|METRIC"
data-points="N" data-frame="X0 Y0 X1 Y1"> (data-frame: the plot area), each
plotted series a <path class="series" data-series=NAME> with one
<circle class="pt"> per point; a metric without data is
<div class="nodata" data-chart-missing="...">; summary rows are
<tr data-row="W|tN|PROFILE">; gate markers have class "gate-fail". Soak
charts over time are data-chart="soak|tN|rss_time" and "soak|tN|ops_time";
the soak summary line is <p id="soak-summary"> with one
<span data-soak="tN|SERIES" data-rss-drift data-ops-drift data-samples> each.

Recorded landings (lines with "kind": "landing", from tools/record.sh) get
their own section: per gated series four charts over the landings in date
order (x = each landing's commit): the speed index (the product of the
paired ops/s ratios to each landing's baseline, 1 = the first landing, band
= the last step's 95% bootstrap interval), Ir/op, ops/s and peak RSS, with
the peers' values from the latest matrix run as flat reference lines; a
landing recorded with --accept-regression has red gate markers with its
reason, and a table lists every accepted regression with its reason
(<table id="accepted">, rows data-accepted="COMMIT12|SERIES"). Landing charts
are data-chart="landing|W|tN|PROFILE|METRIC" (METRIC index, ir, ops, rss).

Exit status: 0 written, 1 no usable history, 2 usage.
"""

import argparse
import html
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats  # noqa: E402

SCHEMA = 1
PEERS = ["glibc", "mimalloc", "jemalloc", "tcmalloc"]
COLORS = {
    "hakmem": "#1f5fbf",
    "glibc": "#6b6b6b",
    "mimalloc": "#2e9b45",
    "jemalloc": "#8a55c7",
    "tcmalloc": "#e08a00",
}
EXTRA_COLORS = ["#0fa3a3", "#b5477d", "#7a6a00", "#3a3aa0"]
GATE_COLOR = "#d7191c"
METRICS = [
    ("ops", "Throughput (ops/s)", "ops/s, median of runs; band: HAKMEM ± MAD"),
    ("ratio", "Ratio to glibc (same run)", "HAKMEM ops/s ÷ glibc ops/s; band: ± MAD of paired per-round ratios"),
    ("ir", "Instructions per op (callgrind)", "Ir of the measured loop ÷ ops; deterministic"),
    ("rss", "Peak RSS", "max over runs of the worker's ru_maxrss"),
]
BASELINE_RUNS = 7
W, H = 560, 300
ML, MR, MT, MB = 66, 16, 34, 84  # margins: left, right, top, bottom (x labels + legend)


# ---------------------------------------------------------------------------
# Loading


REQUIRED = ("commit", "date", "machine", "workload", "threads", "allocator", "median_ops")


def load(path):
    lines, bad = [], 0
    with open(path) as f:
        for raw in f:
            raw = raw.strip()
            if not raw or raw.startswith("#"):  # comments (test fixtures)
                continue
            try:
                d = json.loads(raw)
            except json.JSONDecodeError:
                bad += 1
                continue
            if not isinstance(d, dict) or d.get("schema") != SCHEMA or any(k not in d for k in REQUIRED) \
                    or not isinstance(d.get("machine"), dict) or "id" not in d["machine"]:
                bad += 1
                continue
            lines.append(d)
    return lines, bad


def series_name(d):
    return d["allocator"] + (":" + d["variant"] if d.get("variant") else "")


def build_model(lines, machine, last=None):
    lines = [d for d in lines if d["machine"]["id"] == machine]
    runs = sorted({(d["date"], d["commit"]) for d in lines})
    if last and len(runs) > last:
        runs = runs[-last:]
        keep = set(runs)
        lines = [d for d in lines if (d["date"], d["commit"]) in keep]
    run_index = {r: i for i, r in enumerate(runs)}
    # (workload, threads) -> set of HAKMEM profiles
    groups = {}
    for d in lines:
        key = (d["workload"], int(d["threads"]))
        groups.setdefault(key, set())
        if d["allocator"] == "hakmem":
            groups[key].add(d.get("profile") or "default")
    # points[(workload, threads, profile or None, series)] = {run index: line}
    points = {}
    for d in lines:
        prof = (d.get("profile") or "default") if d["allocator"] == "hakmem" else None
        k = (d["workload"], int(d["threads"]), prof, series_name(d))
        points.setdefault(k, {})[run_index[(d["date"], d["commit"])]] = d
    group_list = []
    order = {}
    for d in lines:  # workloads in the order they first appear
        order.setdefault((d["workload"], int(d["threads"])), len(order))
    for (w, t) in sorted(groups, key=lambda k: order[k]):
        profs = sorted(groups[(w, t)]) or [None]
        for p in profs:
            group_list.append((w, t, p))
    return runs, group_list, points


def group_series(points, w, t, p):
    """[(name, {run: line})] for a chart group: hakmem (this profile) first,
    then its variants, then the peers."""
    out = []
    for (pw, pt, pp, name), pts in points.items():
        if pw != w or pt != t:
            continue
        if name.startswith("hakmem"):
            if pp == p:
                out.append((name, pts))
        elif pp is None:
            out.append((name, pts))
    rank = {n: i for i, n in enumerate(["hakmem"] + PEERS)}
    out.sort(key=lambda s: (rank.get(s[0], 1 if s[0].startswith("hakmem") else 99), s[0]))
    return out


def color_of(name, extra):
    if name in COLORS:
        return COLORS[name]
    if name not in extra:
        extra[name] = EXTRA_COLORS[len(extra) % len(EXTRA_COLORS)]
    return extra[name]


# ---------------------------------------------------------------------------
# Number formatting and axes


def fmt_si(v, digits=3):
    if v is None:
        return "—"
    a = abs(v)
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.{digits}g}{suf}"
    return f"{v:.{digits}g}"


def fmt_kib(k):
    if k is None:
        return "—"
    if k >= 1024 * 1024:
        return f"{k / 1048576:.2f} GiB"
    if k >= 1024:
        return f"{k / 1024:.1f} MiB"
    return f"{k:.0f} KiB"


def fmt_metric(metric, v):
    if v is None:
        return "—"
    if metric == "ops":
        return fmt_si(v) + " ops/s"
    if metric in ("ratio", "index"):
        return f"{v:.3f}×"
    if metric == "ir":
        return f"{v:.1f} Ir/op"
    return fmt_kib(v)


def nice_step(span, target=5):
    if span <= 0:
        return 1.0
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def axis_range(lo, hi, zero=False, include=None):
    """Nice (lo, hi, ticks) covering [lo, hi] (and include; from 0 if zero)."""
    nonneg = lo >= 0  # every metric here is >= 0: the axis never goes below 0
    if include is not None:
        lo, hi = min(lo, include), max(hi, include)
    if zero:
        lo = min(0.0, lo)
    if hi <= lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    else:
        pad = (hi - lo) * 0.08
        if not (zero and lo == 0):
            lo -= pad
        hi += pad
    step = nice_step(hi - lo)
    lo = math.floor(lo / step + 1e-9) * step
    if nonneg and lo < 0:
        lo = 0.0
    hi = math.ceil(hi / step - 1e-9) * step
    ticks, k = [], 0
    while lo + k * step <= hi + step * 1e-6:
        ticks.append(round(lo + k * step, 12))
        k += 1
    return lo, hi, ticks


def tick_label(metric, v):
    if metric == "ops":
        return fmt_si(v)
    if metric in ("ratio", "index"):
        return f"{v:g}"
    if metric == "ir":
        return f"{v:g}"
    # rss: KiB values on MiB ticks
    return f"{v / 1024:g}"


AXIS_UNIT = {"ops": "ops/s", "ratio": "× glibc", "ir": "Ir/op", "rss": "MiB", "index": "× first landing"}


# ---------------------------------------------------------------------------
# Chart


def metric_values(metric, d):
    """(value, low, high) of a history line for a metric, or None."""
    if metric == "ops":
        v, m = d.get("median_ops"), d.get("mad_ops")
        return None if v is None else (v, v - (m or 0), v + (m or 0))
    if metric == "ratio":
        v, m = d.get("ratio_glibc"), d.get("ratio_mad")
        return None if v is None else (v, v - (m or 0), v + (m or 0))
    if metric == "ir":
        v = d.get("ir_per_op")
        return None if v is None else (v, v, v)
    if metric == "index":
        v, ci = d.get("_index"), d.get("_index_ci")
        return None if v is None else (v, *(ci or (v, v)))
    v = d.get("peak_rss_kib")
    return None if v is None else (v, v, v)


def esc(s):
    return html.escape(str(s), quote=True)


def run_label(runs, i):
    date, commit = runs[i]
    return commit[:7], date[5:16].replace("T", " ")


def chart_svg(chart_id, metric, title, subtitle, runs, series, extra_colors):
    """series: [(name, {run: line})]. Returns (svg, npoints) or (None, 0)."""
    plotted = []  # (name, [(run, v, lo, hi, line)])
    for name, pts in series:
        if metric == "ir" and not (name.startswith("hakmem") or name == "glibc"):
            continue
        vals = []
        for i in sorted(pts):
            mv = metric_values(metric, pts[i])
            if mv is not None:
                vals.append((i, *mv, pts[i]))
        if metric == "ratio" and name == "glibc":
            continue  # the 1.0 reference line stands for it
        if vals:
            plotted.append((name, vals))
    if not plotted:
        return None, 0
    xs = sorted({p[0] for _, vals in plotted for p in vals})
    lo = min(min(p[2], p[1]) for _, vals in plotted for p in vals)
    hi = max(max(p[3], p[1]) for _, vals in plotted for p in vals)
    zero = metric in ("ops", "rss")
    if metric == "rss":  # MiB ticks
        lo_m, hi_m, ticks_m = axis_range(lo / 1024, hi / 1024, zero=True)
        y0, y1, ticks = lo_m * 1024, hi_m * 1024, [t * 1024 for t in ticks_m]
    else:
        y0, y1, ticks = axis_range(lo, hi, zero=zero, include=1.0 if metric in ("ratio", "index") else None)
    pw, ph = W - ML - MR, H - MT - MB
    nx = len(runs)
    x_of = (lambda i: ML + pw / 2) if nx == 1 else (lambda i: ML + 30 + (pw - 60) * i / (nx - 1))
    y_of = lambda v: MT + ph - (v - y0) / (y1 - y0) * ph
    npoints = sum(len(v) for _, v in plotted)
    o = [f'<svg class="chart" data-chart="{esc(chart_id)}" data-metric="{metric}" data-points="{npoints}" '
         f'data-frame="{ML} {MT} {W - MR} {MT + ph}" '
         f'xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
         f'aria-label="{esc(title)}">']
    o.append(f'<title>{esc(title)}</title>')
    o.append(f'<text class="ctitle" x="{ML}" y="16">{esc(title)}</text>')
    o.append(f'<text class="csub" x="{ML}" y="28">{esc(subtitle)}</text>')
    # grid and y axis
    o.append('<g class="axis y">')
    for t in ticks:
        y = y_of(t)
        o.append(f'<line class="grid" x1="{ML}" x2="{W - MR}" y1="{y:.1f}" y2="{y:.1f}"/>')
        o.append(f'<text class="tick" x="{ML - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(tick_label(metric, t))}</text>')
    o.append(f'<text class="unit" x="12" y="{MT + ph / 2:.1f}" transform="rotate(-90 12 {MT + ph / 2:.1f})" '
             f'text-anchor="middle">{esc(AXIS_UNIT[metric])}</text>')
    o.append('</g>')
    # x axis: at most ~7 labels
    o.append('<g class="axis x">')
    o.append(f'<line class="frame" x1="{ML}" x2="{W - MR}" y1="{MT + ph}" y2="{MT + ph}"/>')
    o.append(f'<line class="frame" x1="{ML}" x2="{ML}" y1="{MT}" y2="{MT + ph}"/>')
    # labels every k-th run (at least ~80 px apart), the last run always
    gap = (pw - 60) / (nx - 1) if nx > 1 else pw
    k = max(1, math.ceil(80 / gap))
    labelled = set(range(0, nx, k))
    if nx - 1 not in labelled:
        labelled.discard(max(labelled))
        labelled.add(nx - 1)
    labelled.add(0)
    for i in range(nx):
        x = x_of(i)
        o.append(f'<line class="xt" x1="{x:.1f}" x2="{x:.1f}" y1="{MT + ph}" y2="{MT + ph + 4}"/>')
        if i in labelled:
            c, dt = run_label(runs, i)
            o.append(f'<text class="tick" x="{x:.1f}" y="{MT + ph + 16}" text-anchor="middle">{esc(c)}</text>')
            o.append(f'<text class="tick dt" x="{x:.1f}" y="{MT + ph + 28}" text-anchor="middle">{esc(dt)}</text>')
    o.append('</g>')
    if metric in ("ratio", "index"):
        y = y_of(1.0)
        o.append(f'<line class="ref1" x1="{ML}" x2="{W - MR}" y1="{y:.1f}" y2="{y:.1f}" '
                 f'stroke="{COLORS["glibc"]}"/>')
    # bands (hakmem only), then lines, then points; hakmem drawn last (on top)
    order = sorted(plotted, key=lambda s: 0 if not s[0].startswith("hakmem") else 1)
    for name, vals in order:
        if not name.startswith("hakmem") or metric not in ("ops", "ratio", "index"):
            continue
        if all(p[2] == p[3] for p in vals):
            continue
        col = color_of(name, extra_colors)
        if len(vals) == 1:
            p = vals[0]
            x = x_of(p[0])
            o.append(f'<rect class="band" data-series="{esc(name)}" x="{x - 6:.1f}" y="{y_of(p[3]):.1f}" '
                     f'width="12" height="{max(y_of(p[2]) - y_of(p[3]), 0.5):.1f}" fill="{col}"/>')
        else:
            top = " L".join(f"{x_of(p[0]):.1f},{y_of(p[3]):.1f}" for p in vals)
            bot = " L".join(f"{x_of(p[0]):.1f},{y_of(p[2]):.1f}" for p in reversed(vals))
            o.append(f'<path class="band" data-series="{esc(name)}" d="M{top} L{bot} Z" fill="{col}"/>')
    gate_marks = []
    for name, vals in order:
        col = color_of(name, extra_colors)
        main = name.startswith("hakmem")
        d = "M" + " L".join(f"{x_of(p[0]):.1f},{y_of(p[1]):.1f}" for p in vals)
        cls = "series main" if main else "series peer"
        o.append(f'<path class="{cls}" data-series="{esc(name)}" d="{d}" stroke="{col}"/>')
        for p in vals:
            i, v, line = p[0], p[1], p[4]
            c, dt = run_label(runs, i)
            tip = f"{name} @ {c} ({dt} UTC): {fmt_metric(metric, v)}"
            if metric in ("ops", "ratio") and p[3] != p[2]:
                tip += f" ± {fmt_metric(metric, (p[3] - p[2]) / 2)}"
            if line.get("kind") == "landing" and line.get("ops_ratio") is not None:
                tip += f"; vs its baseline: ops ×{line['ops_ratio']:.4f}"
                if line.get("ir_ratio") is not None:
                    tip += f", Ir ×{line['ir_ratio']:.4f}"
                if line.get("rss_ratio") is not None:
                    tip += f", RSS ×{line['rss_ratio']:.4f}"
            if line.get("accepted_regression"):
                tip += f"; ACCEPTED REGRESSION: {line['accepted_regression']}"
            if line.get("n") is not None:
                tip += f", n={line['n']}"
            r = 3.2 if main else 2.4
            o.append(f'<circle class="pt" data-series="{esc(name)}" cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="{r}" '
                     f'fill="{col}"><title>{esc(tip)}</title></circle>')
            g = line.get("gate")
            if isinstance(g, dict) and g.get("status") == "fail":
                gate_marks.append((x_of(i), y_of(v), f"gate FAIL {name} @ {c}: {g.get('metric', '?')}: "
                                                   f"{g.get('detail', '')}"))
    for x, y, tip in gate_marks:
        o.append(f'<g class="gate-fail"><title>{esc(tip)}</title>'
                 f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{MT}" y2="{MT + ph}" stroke="{GATE_COLOR}" '
                 f'stroke-dasharray="3 3" stroke-width="1"/>'
                 f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="none" stroke="{GATE_COLOR}" stroke-width="2.5"/>'
                 f'</g>')
    # legend: one row, or two when it does not fit
    items = [(n, color_of(n, extra_colors), n.startswith("hakmem")) for n, _ in plotted]
    if metric == "ratio":
        items.append(("glibc = 1", COLORS["glibc"], False))
    if metric == "index":
        items.append(("first landing = 1", COLORS["glibc"], False))
    if gate_marks:
        items.append(("gate alert", GATE_COLOR, None))
    widths = [40 + 6.6 * len(n) for n, _, _ in items]
    two_rows = ML + sum(widths) > W - 8
    lx, ly = ML, (H - 26 if two_rows else H - 16)
    o.append('<g class="legend">')
    for (n, col, main), wd in zip(items, widths):
        if lx + wd > W - 8 and lx > ML:
            lx, ly = ML, ly + 15
        if main is None:
            o.append(f'<circle cx="{lx + 8}" cy="{ly - 4}" r="5" fill="none" stroke="{col}" stroke-width="2"/>')
        else:
            dash = "" if main else ' stroke-dasharray="5 3"'
            o.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}" stroke="{col}" '
                     f'stroke-width="{2.5 if main else 1.6}"{dash}/>')
        o.append(f'<text class="lg" x="{lx + 22}" y="{ly}">{esc(n)}</text>')
        lx += wd
    o.append('</g></svg>')
    return "".join(o), npoints


# ---------------------------------------------------------------------------
# Summary table


med = stats.median
mad = stats.mad


def pct(new, old):
    if new is None or old is None or old == 0:
        return None
    return (new - old) / old * 100


def summary_rows(runs, groups, points):
    rows = []
    for (w, t, p) in groups:
        pts = points.get((w, t, p, "hakmem"), {})
        if not pts:
            continue
        idx = sorted(pts)
        last = pts[idx[-1]]
        prev = [pts[i] for i in idx[:-1]][-BASELINE_RUNS:]
        r_prev = [d["ratio_glibc"] for d in prev if d.get("ratio_glibc") is not None]
        r_last = last.get("ratio_glibc")
        base = med(r_prev)
        noise = None
        if r_last is not None and base is not None:
            cands = [x for x in (last.get("ratio_mad"), mad(r_prev)) if x is not None]
            noise = max(cands) if cands else None
        delta = None if (r_last is None or base is None) else r_last - base
        z = None if (delta is None or not noise) else delta / noise
        ir_base = med([d["ir_per_op"] for d in prev if d.get("ir_per_op") is not None])
        ops_base = med([d["median_ops"] for d in prev if d.get("median_ops") is not None])
        rss_base = med([d["peak_rss_kib"] for d in prev if d.get("peak_rss_kib") is not None])
        rows.append({
            "id": f"{w}|t{t}|{p}", "workload": w, "threads": t, "profile": p,
            "run": idx[-1], "nprev": len(prev),
            "ratio": r_last, "ratio_base": base, "delta": delta, "noise": noise, "z": z,
            "ops": last.get("median_ops"), "ops_pct": pct(last.get("median_ops"), ops_base),
            "ir": last.get("ir_per_op"), "ir_pct": pct(last.get("ir_per_op"), ir_base),
            "rss": last.get("peak_rss_kib"), "rss_pct": pct(last.get("peak_rss_kib"), rss_base),
            "gate": last.get("gate"),
        })
    # regressions first: z ascending; rows without a score after, by |delta|
    rows.sort(key=lambda r: (r["z"] is None, r["z"] if r["z"] is not None else 0, r["id"]))
    return rows


def fmt_pct(v):
    if v is None:
        return "—"
    return f"{v:+.1f}%"


def num(v, fmt):
    return "—" if v is None else fmt.format(v)


def z_class(z):
    if z is None:
        return ""
    if z <= -3:
        return "bad"
    if z <= -1.5:
        return "warn"
    if z >= 3:
        return "good"
    return ""


def summary_table(rows, runs):
    o = ['<table id="summary"><thead><tr>'
         '<th>workload</th><th>threads</th><th>profile</th><th>latest run</th>'
         '<th title="HAKMEM ops/s ÷ glibc ops/s, same run">ratio to glibc</th>'
         f'<th title="median of the up to {BASELINE_RUNS} runs before the latest">{BASELINE_RUNS}-run median</th>'
         '<th>Δ ratio</th><th title="larger of the latest ratio_mad and the MAD of the baseline runs">noise</th>'
         '<th title="change ÷ noise; rows sorted by it, regressions first">Δ / noise</th>'
         '<th>ops/s (Δ)</th><th>Ir/op (Δ)</th><th>peak RSS (Δ)</th><th>gate</th>'
         '</tr></thead><tbody>']
    for r in rows:
        c, dt = run_label(runs, r["run"])
        g = r["gate"]
        if isinstance(g, dict):
            st = g.get("status", "?")
            tip = f'{g.get("metric", "")}: {g.get("detail", "")}'
            gate = f'<span class="gate-{esc(st)}" title="{esc(tip)}">{esc(st)}</span>'
        else:
            gate = "—"
        z = r["z"]
        cells = [
            f'<td><a href="#{esc(r["workload"])}-t{r["threads"]}-{esc(r["profile"])}">{esc(r["workload"])}</a></td>',
            f'<td class="num">{r["threads"]}</td>',
            f'<td>{esc(r["profile"])}</td>',
            f'<td><code>{esc(c)}</code> <span class="muted">{esc(dt)}</span></td>',
            f'<td class="num">{num(r["ratio"], "{:.3f}×")}</td>',
            f'<td class="num">{num(r["ratio_base"], "{:.3f}×")} <span class="muted">(n={r["nprev"]})</span></td>',
            f'<td class="num">{num(r["delta"], "{:+.3f}")}</td>',
            f'<td class="num">{num(r["noise"], "{:.3f}")}</td>',
            f'<td class="num z">{num(z, "{:+.1f}")}</td>',
            f'<td class="num">{esc(fmt_si(r["ops"]))} ({fmt_pct(r["ops_pct"])})</td>',
            f'<td class="num">{num(r["ir"], "{:.1f}")} ({fmt_pct(r["ir_pct"])})</td>',
            f'<td class="num">{esc(fmt_kib(r["rss"]))} ({fmt_pct(r["rss_pct"])})</td>',
            f'<td>{gate}</td>',
        ]
        # colour only with a baseline of >= 3 runs: with fewer, the run-to-run noise is unknown
        cls = z_class(z) if r["nprev"] >= 3 else ""
        o.append(f'<tr data-row="{esc(r["id"])}" class="{cls}">' + "".join(cells) + '</tr>')
    o.append('</tbody></table>')
    return "".join(o)


# ---------------------------------------------------------------------------
# Soak: the latest run of each series, over time


def soak_series_name(d):
    if d["allocator"] == "hakmem":
        return "hakmem " + (d.get("profile") or "default")
    return series_name(d)


def soak_latest(lines):
    """{threads: [(series name, line)]}: per thread count, the latest soak line
    with samples of each series, hakmem first, then the peers."""
    latest = {}
    for d in lines:
        if d["workload"] != "soak" or not isinstance(d.get("samples"), list) or not d["samples"]:
            continue
        k = (int(d["threads"]), soak_series_name(d))
        if k not in latest or (d["date"], d["commit"]) > (latest[k]["date"], latest[k]["commit"]):
            latest[k] = d
    rank = {n: i for i, n in enumerate(PEERS)}
    out = {}
    for (t, name), d in latest.items():
        out.setdefault(t, []).append((name, d))
    for t in out:
        out[t].sort(key=lambda s: (0 if s[0].startswith("hakmem") else 1, rank.get(s[0], 99), s[0]))
    return out


def soak_colors(series, extra):
    """Colours: the allocator's, the first hakmem profile in HAKMEM's blue."""
    cols, hakmem_seen = {}, False
    for name, d in series:
        if d["allocator"] == "hakmem" and not hakmem_seen:
            cols[name], hakmem_seen = COLORS["hakmem"], True
        else:
            cols[name] = color_of(name if d["allocator"] == "hakmem" else d["allocator"], extra)
    return cols


SOAK_METRICS = [
    ("rss_time", "RSS over time", "RSS at the end of each interval (working set at its base); "
     "hover: peak RSS, live", "MiB"),
    ("ops_time", "Throughput over time", "malloc + free calls per second in each interval", "ops/s"),
]


def soak_chart_svg(chart_id, metric, title, subtitle, unit, series, cols):
    """series: [(name, line)]; x = seconds of work. Returns (svg, npoints)."""
    key = "rss_kib" if metric == "rss_time" else "ops"
    plotted = []
    for name, d in series:
        pts = [x for x in d["samples"]
               if isinstance(x.get(key), (int, float)) and isinstance(x.get("t"), (int, float))]
        if pts:
            plotted.append((name, d, pts))
    if not plotted:
        return None, 0
    tmax = max(x["t"] for _, _, pts in plotted for x in pts)
    vals = [x[key] for _, _, pts in plotted for x in pts]
    if metric == "rss_time":  # MiB ticks
        lo_m, hi_m, ticks_m = axis_range(min(vals) / 1024, max(vals) / 1024, zero=True)
        y0, y1, ticks = lo_m * 1024, hi_m * 1024, [t * 1024 for t in ticks_m]
    else:
        y0, y1, ticks = axis_range(min(vals), max(vals), zero=True)
    # x: 0 .. the last sample exactly (no padding), ticks every nice step
    x0, x1 = 0.0, max(tmax, 1e-9)
    xstep = nice_step(x1, 6)
    xticks = [k * xstep for k in range(int(x1 / xstep + 1e-9) + 1)]
    pw, ph = W - ML - MR, H - MT - MB
    x_of = lambda t: ML + 10 + (pw - 20) * (t - x0) / (x1 - x0)
    y_of = lambda v: MT + ph - (v - y0) / (y1 - y0) * ph
    npoints = sum(len(pts) for _, _, pts in plotted)
    o = [f'<svg class="chart soak" data-chart="{esc(chart_id)}" data-metric="{metric}" data-points="{npoints}" '
         f'data-frame="{ML} {MT} {W - MR} {MT + ph}" '
         f'xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
         f'aria-label="{esc(title)}">']
    o.append(f'<title>{esc(title)}</title>')
    o.append(f'<text class="ctitle" x="{ML}" y="16">{esc(title)}</text>')
    o.append(f'<text class="csub" x="{ML}" y="28">{esc(subtitle)}</text>')
    o.append('<g class="axis y">')
    for t in ticks:
        y = y_of(t)
        label = f"{t / 1024:g}" if metric == "rss_time" else fmt_si(t)
        o.append(f'<line class="grid" x1="{ML}" x2="{W - MR}" y1="{y:.1f}" y2="{y:.1f}"/>')
        o.append(f'<text class="tick" x="{ML - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(label)}</text>')
    o.append(f'<text class="unit" x="12" y="{MT + ph / 2:.1f}" transform="rotate(-90 12 {MT + ph / 2:.1f})" '
             f'text-anchor="middle">{esc(unit)}</text>')
    o.append('</g><g class="axis x">')
    o.append(f'<line class="frame" x1="{ML}" x2="{W - MR}" y1="{MT + ph}" y2="{MT + ph}"/>')
    o.append(f'<line class="frame" x1="{ML}" x2="{ML}" y1="{MT}" y2="{MT + ph}"/>')
    for t in xticks:
        x = x_of(t)
        o.append(f'<line class="xt" x1="{x:.1f}" x2="{x:.1f}" y1="{MT + ph}" y2="{MT + ph + 4}"/>')
        o.append(f'<text class="tick" x="{x:.1f}" y="{MT + ph + 16}" text-anchor="middle">{t:g}</text>')
    o.append(f'<text class="unit" x="{ML + pw / 2:.1f}" y="{MT + ph + 30}" text-anchor="middle">'
             f'seconds of work</text>')
    o.append('</g>')
    # hakmem drawn last (on top)
    for name, d, pts in sorted(plotted, key=lambda s: 0 if not s[0].startswith("hakmem") else 1):
        col, main = cols[name], name.startswith("hakmem")
        path = "M" + " L".join(f"{x_of(x['t']):.1f},{y_of(x[key]):.1f}" for x in pts)
        o.append(f'<path class="series {"main" if main else "peer"}" data-series="{esc(name)}" d="{path}" '
                 f'stroke="{col}"/>')
        for x in pts:
            if metric == "rss_time":
                tip = f"{name} @ {x['t']:g} s: RSS {fmt_kib(x['rss_kib'])}"
                if x.get("rss_max_kib") is not None:
                    tip += f" (largest in the interval {fmt_kib(x['rss_max_kib'])})"
                if x.get("live_kib") is not None:
                    tip += f", live {fmt_kib(x['live_kib'])}"
            else:
                tip = f"{name} @ {x['t']:g} s: {fmt_si(x['ops'])} ops/s"
            o.append(f'<circle class="pt" data-series="{esc(name)}" cx="{x_of(x["t"]):.1f}" '
                     f'cy="{y_of(x[key]):.1f}" r="{2.6 if main else 2.0}" fill="{col}">'
                     f'<title>{esc(tip)}</title></circle>')
    widths = [40 + 6.6 * len(n) for n, _, _ in plotted]
    lx, ly = ML, H - 12
    o.append('<g class="legend">')
    for (n, _, _), wd in zip(plotted, widths):
        if lx + wd > W - 8 and lx > ML:
            lx, ly = ML, ly + 13
        main = n.startswith("hakmem")
        dash = "" if main else ' stroke-dasharray="5 3"'
        o.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}" stroke="{cols[n]}" '
                 f'stroke-width="{2.5 if main else 1.6}"{dash}/>')
        o.append(f'<text class="lg" x="{lx + 22}" y="{ly}">{esc(n)}</text>')
        lx += wd
    o.append('</g></svg>')
    return "".join(o), npoints


def fmt_drift(v):
    return "—" if not isinstance(v, (int, float)) else f"{v * 100:+.1f}%"


def soak_summary(soak):
    """The summary line: per thread count, each series' drifts."""
    if not soak:
        return ""
    parts = []
    for t in sorted(soak):
        items = []
        for name, d in soak[t]:
            c = d["commit"][:7]
            items.append(
                f'<span data-soak="t{t}|{esc(name)}" data-rss-drift="{esc(d.get("rss_drift"))}" '
                f'data-ops-drift="{esc(d.get("ops_drift"))}" data-samples="{len(d["samples"])}">'
                f'<b>{esc(name)}</b> RSS {fmt_drift(d.get("rss_drift"))}, ops/s {fmt_drift(d.get("ops_drift"))} '
                f'({esc(fmt_si(d.get("median_ops")))} ops/s; <code>{esc(c)}</code>, '
                f'{esc(d.get("duration_s", "?"))} s)</span>')
        parts.append(f'{t} thread{"s" if t != 1 else ""}: ' + "; ".join(items))
    return ('<p id="soak-summary" class="note"><a href="#soak-h">Soak</a>, latest run per series, drift from '
            'the middle of the run to its end (RSS: last sample vs median of the middle half; ops/s: median of '
            'the last 10% vs the middle half): ' + " | ".join(parts) + '.</p>')


def soak_section(soak, extra):
    if not soak:
        return ""
    out = ['<h2 id="soak-h">Soak — the latest run of each series over time</h2>']
    for t in sorted(soak):
        series = soak[t]
        cols = soak_colors(series, extra)
        runs = sorted({(d["date"], d["commit"]) for _, d in series})
        which = ", ".join(f"{c[:7]} ({dt[:16].replace('T', ' ')})" for dt, c in runs)
        out.append(f'<p class="note" id="soak-t{t}">{t} thread{"s" if t != 1 else ""}; '
                   f'run{"s" if len(runs) > 1 else ""} '
                   f'{esc(which)}. Each interval the working set rises to a random peak and falls back to its '
                   f'base; RSS is sampled with it back at the base, so a rising line is memory the allocator keeps. '
                   f'Series are interleaved interval by interval (benchmarks/soak.c).</p><div class="grid2">')
        for metric, mtitle, sub, unit in SOAK_METRICS:
            svg, _ = soak_chart_svg(f"soak|t{t}|{metric}", metric, f"soak ×{t}: {mtitle}", sub, unit, series, cols)
            if svg is None:
                out.append(f'<div class="nodata" data-chart-missing="soak|t{t}|{metric}">{esc(mtitle)}: no data</div>')
            else:
                out.append(svg)
        out.append('</div>')
    return "".join(out)


# ---------------------------------------------------------------------------
# Page

CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:20px 28px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #ddd;padding-bottom:3px}
.meta{color:#555;margin:0 0 12px}.muted{color:#888}
code{font:12px ui-monospace,"DejaVu Sans Mono",monospace}
table#summary{border-collapse:collapse;margin:8px 0 6px;font-size:13px}
#summary th,#summary td{border:1px solid #ddd;padding:3px 6px;text-align:left;white-space:nowrap}
#summary th{background:#f3f3f3;font-weight:600}
table#accepted{border-collapse:collapse;margin:8px 0 6px;font-size:13px}
#accepted th,#accepted td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
#accepted th{background:#f3f3f3}#accepted td.reason{background:#fdf0d5;font-weight:600}#summary td.num{text-align:right;font-variant-numeric:tabular-nums}
#summary tr.bad td{background:#fbdcdc}#summary tr.warn td{background:#fdf0d5}#summary tr.good td{background:#e1f3e3}
.gate-fail{color:#d7191c;font-weight:600}.gate-pass{color:#2e7d32}
.note{color:#555;font-size:12.5px;max-width:1150px}
.grid2{display:grid;grid-template-columns:repeat(2,560px);gap:10px 18px}
.nodata{width:560px;height:300px;border:1px dashed #ccc;display:flex;align-items:center;justify-content:center;color:#777;box-sizing:border-box;padding:20px;text-align:center}
nav a{margin-right:10px}
svg.chart{background:#fff;border:1px solid #e3e3e3}
svg .ctitle{font-size:14px;font-weight:600;fill:#1b1b1b}svg .csub{font-size:10.5px;fill:#666}
svg .tick{font-size:10.5px;fill:#444}svg .tick.dt{fill:#888;font-size:9.5px}svg .unit{font-size:11px;fill:#444}
svg .lg{font-size:11px;fill:#333}
svg .grid{stroke:#ececec;stroke-width:1}svg .frame,svg .xt{stroke:#999;stroke-width:1}
svg .ref1{stroke-width:1.4;stroke-dasharray:6 4}
svg .band{opacity:.16;stroke:none}
svg .series{fill:none;stroke-linejoin:round;stroke-linecap:round}
svg .series.main{stroke-width:2.6}svg .series.peer{stroke-width:1.5;stroke-dasharray:5 3;opacity:.85}
"""


# ---------------------------------------------------------------------------
# Recorded landings (tools/record.sh: "kind": "landing")

LANDING_METRICS = [
    ("index", "Speed index over landings", "product of paired ops/s ratios along the chain; band: last step's 95% CI"),
    ("ir", "Instructions per op (callgrind)", "HAKMEM per landing; glibc (latest matrix run) as reference"),
    ("ops", "Throughput (ops/s)", "median of the gate's timed runs; peers: latest matrix run"),
    ("rss", "Peak RSS", "median of the gate's runs (VmHWM); peers: latest matrix run"),
]


def landing_model(landings, matrix):
    """runs [(date, commit)], groups [(w, t, p)], points like build_model's,
    with "_index" set on every landing line (the product of ops_ratio along
    the chain of baselines) and the peers of the latest matrix run of the
    same workload x threads as constant reference series."""
    first = {}
    for d in landings:  # the first recording of each commit is its landing
        first.setdefault(d["commit"], d["date"])
    lines = [d for d in landings if first[d["commit"]] == d["date"]]
    runs = sorted({(d["date"], d["commit"]) for d in lines})
    run_index = {r: i for i, r in enumerate(runs)}
    index = {}  # (commit, w, t, p) -> speed index
    points, groups = {}, []
    for date, commit in runs:
        for d in lines:
            if d["commit"] != commit:
                continue
            key = (d["workload"], int(d["threads"]), d.get("profile") or "default")
            if key not in groups:
                groups.append(key)
            base = index.get((d.get("baseline"),) + key)
            r = d.get("ops_ratio")
            d["_index"] = (base if base is not None else 1.0) * (r if r is not None and base is not None else 1.0)
            ci = d.get("ops_ratio_ci")
            if base is not None and ci:
                d["_index_ci"] = (base * ci[0], base * ci[1])
            index[(commit,) + key] = d["_index"]
            points.setdefault(key + ("hakmem",), {})[run_index[(date, commit)]] = d
    # peers: the newest matrix run's lines, drawn flat across the landings
    latest = {}
    for d in matrix:
        if d["allocator"] == "hakmem" or d.get("variant"):
            continue
        k = (d["workload"], int(d["threads"]), d["allocator"])
        if k not in latest or latest[k]["date"] < d["date"]:
            latest[k] = d
    for (w, t, a), d in latest.items():
        if any((gw, gt) == (w, t) for gw, gt, _ in groups):
            points[(w, t, None, a)] = {i: d for i in range(len(runs))}
    return runs, groups, points


def accepted_table(landings):
    rows = [d for d in landings if d.get("accepted_regression")]
    if not rows:
        return ('<p class="note" id="accepted-none">No accepted regressions: every recorded landing passed the '
                'gate against its baseline.</p>')
    o = ['<table id="accepted"><thead><tr><th>landing</th><th>date</th><th>series</th><th>baseline</th>'
         '<th>reason given</th><th>gate</th></tr></thead><tbody>']
    for d in sorted(rows, key=lambda d: d["date"], reverse=True):
        ser = f'{d["workload"]} ×{d["threads"]} {d.get("profile") or "default"}'
        g = d.get("gate") or {}
        o.append(f'<tr data-accepted="{esc(d["commit"][:12])}|{esc(ser)}"><td><code>{esc(d["commit"][:10])}</code></td>'
                 f'<td>{esc(d["date"])}</td><td>{esc(ser)}</td><td><code>{esc((d.get("baseline") or "-")[:10])}</code></td>'
                 f'<td class="reason">{esc(d["accepted_regression"])}</td>'
                 f'<td>{esc(g.get("metric", ""))}: {esc(g.get("detail", ""))}</td></tr>')
    o.append('</tbody></table>')
    return "".join(o)


def landing_section(landings, matrix, extra):
    if not landings:
        return ('<h2 id="landings-h">Recorded landings</h2><p class="note" id="landings-none">No recorded '
                'landings yet (bash tools/record.sh records one).</p>')
    runs, groups, points = landing_model(landings, matrix)
    o = ['<h2 id="landings-h">Recorded landings (the chain of baselines)</h2>',
         f'<p class="note">{len(runs)} landing{"s" if len(runs) != 1 else ""} recorded by tools/record.sh, each '
         'measured by the gate against the landing before it (paired, interleaved). Accepted regressions (recorded '
         'with --accept-regression) are red circles with their reason in the tooltip, and listed here:</p>',
         accepted_table(landings)]
    for (w, t, p) in groups:
        gid = f"landing|{w}|t{t}|{p}"
        series = group_series(points, w, t, p)
        o.append(f'<h3 id="landing-{esc(w)}-t{t}-{esc(p)}">{esc(w)} — {t} thread{"s" if t != 1 else ""} — '
                 f'profile {esc(p)}</h3><div class="grid2">')
        for metric, mtitle, sub in LANDING_METRICS:
            ser = series if metric in ("ir", "ops", "rss") else [x for x in series if x[0] == "hakmem"]
            svg, _ = chart_svg(f"{gid}|{metric}", metric, f"{w} ×{t} {p}: {mtitle}", sub, runs, ser, extra)
            if svg is None:
                o.append(f'<div class="nodata" data-chart-missing="{esc(gid)}|{metric}">{esc(mtitle)}: no data</div>')
            else:
                o.append(svg)
        o.append('</div>')
    return "".join(o)


def render(lines, machine=None, title="HAKMEM benchmark dashboard", last=None):
    machines = {}
    for d in lines:
        m = d["machine"]
        machines.setdefault(m["id"], [m, 0, ""])
        machines[m["id"]][1] += 1
        machines[m["id"]][2] = max(machines[m["id"]][2], d["date"])
    if machine is None:
        machine = max(lines, key=lambda d: d["date"])["machine"]["id"]
    if machine not in machines:
        raise ValueError(f"machine {machine} not in the history (have: {', '.join(sorted(machines))})")
    landings = [d for d in lines if d.get("kind") == "landing" and d["machine"]["id"] == machine]
    lines = [d for d in lines if d.get("kind") != "landing"]
    matrix = [d for d in lines if d["machine"]["id"] == machine]
    if not matrix:
        # Only recorded landings on this machine: the landing section alone.
        m = machines[machine][0]
        return "".join(['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
                        f'<title>{esc(title)}</title><style>{CSS}</style></head><body><h1>{esc(title)}</h1>',
                        f'<p class="meta">Machine <code>{esc(machine)}</code>: {esc(m.get("cpu", "?"))}. No matrix '
                        'runs (ci/nightly) on this machine yet.</p>', landing_section(landings, [], {}),
                        '</body></html>\n'])
    runs, groups, points = build_model(lines, machine, last)
    m = machines[machine][0]
    extra = {}
    rows = summary_rows(runs, groups, points)
    first_run, last_run = runs[0], runs[-1]
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f'<title>{esc(title)}</title><style>{CSS}</style></head><body>',
           f'<h1>{esc(title)}</h1>',
           f'<p class="meta">Machine <code>{esc(machine)}</code>: {esc(m.get("cpu", "?"))}, '
           f'{esc(m.get("cores", "?"))} cores, kernel {esc(m.get("kernel", "?"))}, {esc(m.get("compiler", "?"))}, '
           f'glibc {esc(m.get("glibc", "?"))}. {len(runs)} run{"s" if len(runs) != 1 else ""} from '
           f'<code>{esc(first_run[1][:10])}</code> ({esc(first_run[0])}) to <code>{esc(last_run[1][:10])}</code> '
           f'({esc(last_run[0])}).</p>']
    others = [(k, v) for k, v in machines.items() if k != machine]
    if others:
        out.append('<p class="note">Other machines in the history (render with --machine=ID): ' + ", ".join(
            f'<code>{esc(k)}</code> ({esc(v[0].get("cpu", "?"))}, {v[1]} lines, last {esc(v[2])})'
            for k, v in sorted(others)) + '</p>')
    out.append('<h2 id="summary-h">Latest run vs the previous runs</h2>')
    out.append(summary_table(rows, runs))
    out.append(
        f'<p class="note">Per workload × threads × profile, HAKMEM\'s ratio to glibc (both measured in the same '
        f'run, interleaved) in its latest run against the median of the up to {BASELINE_RUNS} runs before it. '
        f'Noise is the larger of the latest run\'s ratio MAD (paired per-round ratios) and the MAD of the '
        f'baseline ratios; rows are sorted by change ÷ noise, regressions first (red ≤ −3, amber ≤ −1.5, '
        f'green ≥ +3; coloured once the baseline has at least 3 runs). Instructions/op (callgrind) is deterministic: any change there is real. The gate column '
        f'is the latest line\'s verdict; gate alerts are red circles on the charts.</p>')
    shown = set(runs)
    soak = soak_latest([d for d in lines if d["machine"]["id"] == machine and (d["date"], d["commit"]) in shown])
    out.append(soak_summary(soak))
    out.append('<nav><a href="#landings-h">recorded landings</a>' + ('<a href="#soak-h">soak over time</a>' if soak else '') + "".join(
        f'<a href="#{esc(w)}-t{t}-{esc(p)}">{esc(w)} ×{t} {esc(p)}</a>' for (w, t, p) in groups) + '</nav>')
    out.append(landing_section(landings, matrix, extra))
    out.append(soak_section(soak, extra))
    for (w, t, p) in groups:
        gid = f"{w}|t{t}|{p}"
        series = group_series(points, w, t, p)
        out.append(f'<h2 id="{esc(w)}-t{t}-{esc(p)}">{esc(w)} — {t} thread{"s" if t != 1 else ""} — '
                   f'profile {esc(p)}</h2><div class="grid2">')
        for metric, mtitle, sub in METRICS:
            svg, _ = chart_svg(f"{gid}|{metric}", metric, f"{w} ×{t} {p}: {mtitle}", sub, runs, series, extra)
            if svg is None:
                why = ("not measured: instructions/op are taken for single-threaded workloads only"
                       if metric == "ir" and t != 1 else "no data")
                out.append(f'<div class="nodata" data-chart-missing="{esc(gid)}|{metric}">'
                           f'{esc(mtitle)}: {esc(why)}</div>')
            else:
                out.append(svg)
        out.append('</div>')
    out.append('<p class="note">Generated by tools/dashboard.py from the history file written by '
               'tools/bench_history.py (matrix runs) and tools/record.sh (landings). Hover a point for its '
               'value.</p></body></html>\n')
    return "".join(out)


def main(argv=None):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    repo = os.environ.get("BUILD_WORKSPACE_DIRECTORY", here)
    ap = argparse.ArgumentParser(description="Render the benchmark history as one static HTML page.")
    ap.add_argument("--history", default=os.path.join(repo, "benchmarks", "history", "history.jsonl"))
    ap.add_argument("--out", default=None, help="default: dashboard.html next to the history file")
    ap.add_argument("--machine", help="machine id to show (default: the newest line's)")
    ap.add_argument("--title", default="HAKMEM benchmark dashboard")
    ap.add_argument("--last", type=int, default=120, help="plot only the newest N runs (default %(default)s)")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.history):
        print(f"dashboard: no history file {args.history} (run tools/bench_history.py)", file=sys.stderr)
        return 1
    lines, bad = load(args.history)
    if bad:
        print(f"dashboard: skipped {bad} line(s) that are not schema-{SCHEMA} history lines", file=sys.stderr)
    if not lines:
        print(f"dashboard: {args.history} holds no usable history line", file=sys.stderr)
        return 1
    try:
        page = render(lines, args.machine, args.title, args.last)
    except ValueError as e:
        print(f"dashboard: {e}", file=sys.stderr)
        return 2
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.history)), "dashboard.html")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write(page)
    os.replace(tmp, out)
    print(f"dashboard: wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
