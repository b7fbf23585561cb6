#!/usr/bin/env bash
# Test of tools/dashboard.py: renders the synthetic history
# tools/testdata/history_fixture.jsonl, then checks the page
#  - statically: no script, no external resource, one chart per workload x
#    threads x profile x metric (Ir/op replaced by a "not measured" note for
#    multi-threaded workloads), summary rows sorted by change / noise, gate
#    markers where the fixture's gate failed, the other machine not plotted;
#    the soak's charts over time (RSS, ops/s) of the latest run of each
#    series: one point per sample of that run, placed linearly in (seconds,
#    value), a legend entry per series, and the soak summary line with each
#    series' drifts;
#  - rendered in headless Chromium (Debian package `chromium`): a probe script
#    injected into a copy of the page measures every chart's plotted paths and
#    points with getBBox()/getBoundingClientRect(), --dump-dom returns the
#    result; every chart must have its expected number of points, visible
#    inside its plot frame, and lines of non-zero length; a --screenshot must
#    be a PNG of the window size;
#  - the recorded landings (tools/record.sh lines): per series the speed
#    index, Ir/op, ops/s and RSS over the landings with the peers' latest
#    matrix values as reference lines, gate markers on the accepted
#    regression and its reason in the table of accepted regressions;
#  - error handling: missing or empty history, unknown --machine.
# Usage (Bazel): dashboard_test.sh <dashboard.py> <history_fixture.jsonl>
set -uo pipefail
PY=/usr/bin/python3  # Debian's: numpy and scipy (tools/stats.py)
[ -x "$PY" ] || PY=python3

DASH="$1"
FIXTURE="$2"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$CHROMIUM" ]; then
  echo "FAIL: chromium not found: install the Debian package 'chromium' (bash tools/setup.sh does)" >&2
  exit 1
fi
export HOME="$TMP/home"
mkdir -p "$HOME"
chrome() {  # chrome OUT ARGS... : headless Chromium, stdout to OUT
  local out="$1"
  shift
  timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --disable-extensions --user-data-dir="$TMP/chrome-profile" "$@" >"$out" 2>"$TMP/chrome.err"
}

# --- error handling ----------------------------------------------------------
$PY "$DASH" --history="$TMP/none.jsonl" --out="$TMP/x.html" 2>"$TMP/err"
[ $? = 1 ] || fail "missing history: want exit 1"
grep -q "no history file" "$TMP/err" || fail "missing history: no message: $(cat "$TMP/err")"
: >"$TMP/empty.jsonl"
$PY "$DASH" --history="$TMP/empty.jsonl" --out="$TMP/x.html" 2>"$TMP/err"
[ $? = 1 ] || fail "empty history: want exit 1"
$PY "$DASH" --history="$FIXTURE" --out="$TMP/x.html" --machine=ffffffffffff 2>"$TMP/err"
[ $? = 2 ] || fail "unknown machine: want exit 2"
grep -q "a1b2c3d4e5f6" "$TMP/err" || fail "unknown machine: message does not list the machines"

# --- render the fixture --------------------------------------------------------
PAGE="$TMP/dashboard.html"
if ! $PY "$DASH" --history="$FIXTURE" --out="$PAGE" 2>"$TMP/err"; then
  fail "dashboard.py failed: $(cat "$TMP/err")"
  exit 1
fi
grep -q "skipped 1 line" "$TMP/err" || fail "the fixture's schema-0 line was not reported as skipped"
# Single-run page (the other machine): points but no line segments.
$PY "$DASH" --history="$FIXTURE" --out="$TMP/one.html" --machine=0f0f0f0f0f0f 2>/dev/null ||
  fail "render of the one-run machine failed"

# Probe: measures the rendered charts, writes the result into data-probe.
PROBE='<script>
for (const svg of document.querySelectorAll("svg.chart")) {
  const box = svg.getBoundingClientRect();
  let len = 0, w = 0, h = 0;
  const paths = svg.querySelectorAll("path.series");
  for (const p of paths) { const b = p.getBBox(); len += p.getTotalLength(); w = Math.max(w, b.width); h = Math.max(h, b.height); }
  let vis = 0, fvis = 0;
  const fr = (svg.getAttribute("data-frame") || "0 0 0 0").split(" ").map(Number);
  const pts = svg.querySelectorAll("circle.pt");
  for (const c of pts) {
    const r = c.getBoundingClientRect();
    if (r.width > 0 && r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom) vis++;
    const x = r.left + r.width / 2 - box.left, y = r.top + r.height / 2 - box.top;
    if (r.width > 0 && x >= fr[0] && x <= fr[2] && y >= fr[1] && y <= fr[3]) fvis++;
  }
  const ticks = svg.querySelectorAll("text.tick").length, legend = svg.querySelectorAll(".legend text").length;
  svg.setAttribute("data-probe", [paths.length, len.toFixed(1), pts.length, vis, box.width, box.height, ticks, legend, fvis].join(" "));
}
document.body.setAttribute("data-probed", "1");
</script>'
for f in dashboard one; do
  python3 - "$TMP/$f.html" "$TMP/$f.probe.html" "$PROBE" <<'EOF'
import sys
page = open(sys.argv[1]).read()
assert page.count("</body>") == 1
open(sys.argv[2], "w").write(page.replace("</body>", sys.argv[3] + "</body>"))
EOF
  chrome "$TMP/$f.dom" --dump-dom "file://$TMP/$f.probe.html" ||
    fail "chromium --dump-dom $f failed: $(tail -5 "$TMP/chrome.err")"
done
chrome "$TMP/shot.out" --hide-scrollbars --window-size=1240,2000 --screenshot="$TMP/shot.png" "file://$PAGE" ||
  fail "chromium --screenshot failed: $(tail -5 "$TMP/chrome.err")"

python3 - "$FIXTURE" "$PAGE" "$TMP/dashboard.dom" "$TMP/one.dom" "$TMP/shot.png" <<'EOF' || failures=$((failures + 1))
import json, re, struct, sys
from html.parser import HTMLParser

fixture, page_path, dom_path, one_dom_path, png_path = sys.argv[1:6]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

lines = [json.loads(l) for l in open(fixture) if l.strip() and not l.startswith("#")]
lines = [d for d in lines if d.get("schema") == 1]
landings = [d for d in lines if d.get("kind") == "landing"]
lines = [d for d in lines if d.get("kind") != "landing"]

def expected_landings(machine):
    """{chart id: points} of the recorded-landings section: per series, the
    speed index (HAKMEM only), Ir/op (+ glibc's latest matrix value on every
    landing), ops/s and peak RSS (+ every peer's latest matrix value)."""
    ls = [d for d in landings if d["machine"]["id"] == machine]
    charts = {}
    for w, t, p in {(d["workload"], d["threads"], d["profile"] or "default") for d in ls}:
        mine = [d for d in ls if (d["workload"], d["threads"], d["profile"] or "default") == (w, t, p)]
        n = len(mine)
        peers = {}
        for d in lines:
            if d["machine"]["id"] == machine and d["workload"] == w and d["threads"] == t \
                    and d["allocator"] != "hakmem" and not d.get("variant"):
                if d["allocator"] not in peers or peers[d["allocator"]]["date"] < d["date"]:
                    peers[d["allocator"]] = d
        charts[f"landing|{w}|t{t}|{p}|index"] = n
        for metric, key in (("ir", "ir_per_op"), ("ops", "median_ops"), ("rss", "peak_rss_kib")):
            k = sum(1 for d in mine if d.get(key) is not None)
            k += sum(n for a, d in peers.items() if d.get(key) is not None and (metric != "ir" or a == "glibc"))
            charts[f"landing|{w}|t{t}|{p}|{metric}"] = k
    return charts

def expected(machine):
    """{chart id: points} and the ids of missing charts, from the fixture."""
    ls = [d for d in lines if d["machine"]["id"] == machine]
    runs = {(d["date"], d["commit"]) for d in ls}
    charts, missing = {}, set()
    groups = sorted({(d["workload"], d["threads"], d["profile"]) for d in ls if d["allocator"] == "hakmem"})
    for w, t, p in groups:
        mine = [d for d in ls if d["workload"] == w and d["threads"] == t
                and (d["profile"] == p if d["allocator"] == "hakmem" else d["allocator"] != "hakmem")]
        for metric, key, allow in (("ops", "median_ops", None), ("ratio", "ratio_glibc", None),
                                   ("ir", "ir_per_op", ("hakmem", "glibc")), ("rss", "peak_rss_kib", None)):
            n = sum(1 for d in mine if d.get(key) is not None and (allow is None or d["allocator"] in allow)
                    and not (metric == "ratio" and d["allocator"] == "glibc"))
            cid = f"{w}|t{t}|{p}|{metric}"
            if n:
                charts[cid] = n
            else:
                missing.add(cid)
    # The soak over time: per thread count, the latest soak line of each series.
    latest = {}
    for d in ls:
        if d["workload"] == "soak" and d.get("samples"):
            name = "hakmem " + d["profile"] if d["allocator"] == "hakmem" else d["allocator"]
            k = (d["threads"], name)
            if k not in latest or (d["date"], d["commit"]) > (latest[k]["date"], latest[k]["commit"]):
                latest[k] = d
    soak = {}
    for (t, name), d in latest.items():
        soak.setdefault(t, {})[name] = d
    for t, series in soak.items():
        for metric in ("rss_time", "ops_time"):
            charts[f"soak|t{t}|{metric}"] = sum(len(d["samples"]) for d in series.values())
    charts.update(expected_landings(machine))
    return charts, missing, len(runs), soak

class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.missing, self.rows, self.gate_marks = {}, set(), [], 0
        self.scripts, self.external, self.row, self.cell = 0, [], None, None
        self.row_class = {}
        self.chart = None          # the chart being parsed
        self.circles = {}          # chart -> series -> [(cx, cy)]
        self.legends = {}          # chart -> [legend texts]
        self.in_legend, self.legend_text = False, None
        self.soak_spans, self.span, self.soak_summary = {}, None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for k in ("src", "href"):
            v = a.get(k)
            if v is not None and not v.startswith("#"):
                self.external.append(f"{tag} {k}={v}")
        if tag == "link" or tag == "img" or tag == "iframe":
            self.external.append(tag)
        if tag == "svg" and "data-chart" in a:
            self.charts[a["data-chart"]] = a
            self.chart = a["data-chart"]
        if tag == "circle" and self.chart and "pt" in (a.get("class") or "").split():
            self.circles.setdefault(self.chart, {}).setdefault(a.get("data-series"), []).append(
                (float(a["cx"]), float(a["cy"])))
        if tag == "g" and self.chart and a.get("class") == "legend":
            self.in_legend = True
        if tag == "text" and self.in_legend:
            self.legend_text = ""
        if tag == "p" and a.get("id") == "soak-summary":
            self.soak_summary = ""
        if tag == "span" and "data-soak" in a:
            self.span = a["data-soak"]
            self.soak_spans[self.span] = dict(a, text="")
        if "data-chart-missing" in a:
            self.missing.add(a["data-chart-missing"])
        if tag == "g" and "gate-fail" in (a.get("class") or "").split():
            self.gate_marks += 1
        if tag == "tr" and "data-row" in a:
            self.row = [a["data-row"]]
            self.rows.append(self.row)
            self.row_class[a["data-row"]] = a.get("class") or ""
        if tag == "td" and self.row is not None:
            self.cell = ""
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.legend_text is not None:
            self.legend_text += data
        if self.span is not None:
            self.soak_spans[self.span]["text"] += data
        if self.soak_summary is not None:
            self.soak_summary += data
    def handle_endtag(self, tag):
        if tag == "td" and self.row is not None and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        if tag == "tr":
            self.row = None
        if tag == "svg":
            self.chart, self.in_legend = None, False
        if tag == "text" and self.legend_text is not None:
            self.legends.setdefault(self.chart, []).append(self.legend_text)
            self.legend_text = None
        if tag == "span":
            self.span = None
        if tag == "p" and self.soak_summary is not None:
            self.soak_summary_text, self.soak_summary = self.soak_summary, None

def parse(path):
    c = Collect()
    c.feed(open(path, encoding="utf-8").read())
    return c

charts, missing, nruns, soak = expected("a1b2c3d4e5f6")
check(len(charts) == 27 and len(missing) == 3, f"fixture model: {len(charts)} charts, {len(missing)} missing")
check(sorted((t, sorted(s)) for t, s in soak.items()) == [(2, ["glibc", "hakmem LEGACY", "mimalloc"])],
      f"fixture model: soak series {soak}")

# Static page
page = parse(page_path)
check(page.scripts == 0, f"the page has {page.scripts} <script> element(s)")
check(not page.external, f"external references: {page.external[:5]}")
check(set(page.charts) == set(charts), f"charts: got {sorted(page.charts)}, want {sorted(charts)}")
check(page.missing == missing, f"missing-chart notes: got {sorted(page.missing)}, want {sorted(missing)}")
for cid, n in charts.items():
    got = page.charts.get(cid, {}).get("data-points")
    check(got == str(n), f"{cid}: data-points={got}, want {n}")
check(page.gate_marks == 8, f"gate markers: {page.gate_marks}, want 8 (one per chart of mixed x1 LEGACY, "
                            "and one per landing chart of mixed for the accepted regression)")
# The accepted regression: its reason in the table of accepted regressions.
accepted = [d for d in landings if d.get("accepted_regression")]
check(len(accepted) == 1, "fixture: one accepted regression")
for d in accepted:
    check(f'data-accepted="{d["commit"][:12]}|mixed ×1 LEGACY"' in open(page_path, encoding="utf-8").read(),
          "accepted regression row missing")
    check(d["accepted_regression"].replace("%", "%") in open(page_path, encoding="utf-8").read(),
          "the accepted regression's reason is not on the page")
raw = open(page_path, encoding="utf-8").read()
check("0f0f0f0f0f0f" in raw, "the other machine is not mentioned")
check("Other CPU" not in raw.split('id="summary"')[1], "the other machine's data reaches the summary or charts")

# The soak over time: per series, one point per sample of its latest run, on
# a linear (seconds, value) scale shared by the series; a legend entry each.
def fit_linear(pairs):
    """Checks y = a + b*x for all pairs (b != 0); returns b or None."""
    if len(pairs) < 2:
        return None
    (x0, y0), (x1, y1) = min(pairs), max(pairs)
    if x1 == x0:
        return None
    b = (y1 - y0) / (x1 - x0)
    ok = all(abs(y0 + b * (x - x0) - y) <= 0.15 + 1e-9 * abs(y) for x, y in pairs)
    return b if ok else None

for t, series in soak.items():
    for metric, key in (("rss_time", "rss_kib"), ("ops_time", "ops")):
        cid = f"soak|t{t}|{metric}"
        circ = page.circles.get(cid, {})
        check(set(circ) == set(series), f"{cid}: series {sorted(circ)}, want {sorted(series)}")
        xs, ys = [], []
        for name, d in series.items():
            pts = circ.get(name, [])
            check(len(pts) == len(d["samples"]), f"{cid}: {name} has {len(pts)} points, want {len(d['samples'])} "
                                                  f"(its latest run {d['commit'][:7]})")
            for (cx, cy), smp in zip(pts, d["samples"]):
                xs.append((smp["t"], cx))
                ys.append((smp[key], cy))
        bx, by = fit_linear(xs), fit_linear(ys)
        check(bx is not None and bx > 0, f"{cid}: points are not placed linearly in time (left to right)")
        check(by is not None and by < 0, f"{cid}: points are not placed linearly in {key} (up = more)")
        check(sorted(page.legends.get(cid, [])) == sorted(series), f"{cid}: legend {page.legends.get(cid)}")
check("drift" in getattr(page, "soak_summary_text", ""), "no soak summary line (p#soak-summary)")
want_spans = {f"t{t}|{name}": d for t, s in soak.items() for name, d in s.items()}
check(set(page.soak_spans) == set(want_spans), f"soak summary spans {sorted(page.soak_spans)}, want {sorted(want_spans)}")
for sid, d in want_spans.items():
    sp = page.soak_spans.get(sid)
    if sp is None:
        continue
    check(float(sp["data-rss-drift"]) == d["rss_drift"] and float(sp["data-ops-drift"]) == d["ops_drift"]
          and sp["data-samples"] == str(len(d["samples"])), f"soak summary {sid}: {sp}")
    want = f"RSS {d['rss_drift'] * 100:+.1f}%, ops/s {d['ops_drift'] * 100:+.1f}%"
    check(want in sp["text"], f"soak summary {sid}: {want!r} not in {sp['text']!r}")

# Summary table: one row per group, sorted by change / noise (regressions first)
want_rows = sorted({cid.rsplit("|", 1)[0] for cid in charts if not cid.endswith("_time")
                    and not cid.startswith("landing|")})
got_rows = [r[0] for r in page.rows]
check(sorted(got_rows) == want_rows, f"summary rows {got_rows}, want {want_rows}")
zs = []
for r in page.rows:
    z = r[9] if len(r) > 9 else ""
    zs.append(float(z.replace("−", "-")) if z not in ("", "—") else None)
check(all(z is not None for z in zs), f"summary change/noise missing: {zs}")
scored = [z for z in zs if z is not None]
check(scored == sorted(scored), f"summary not sorted by change/noise: {zs}")
for r, z in zip(page.rows, zs):  # baselines of 7 runs: rows coloured by change / noise
    want = "" if z is None else "bad" if z <= -3 else "warn" if z <= -1.5 else "good" if z >= 3 else ""
    check(page.row_class.get(r[0]) == want, f"row {r[0]} (z={z}) class {page.row_class.get(r[0])!r}, want {want!r}")
check(any(page.row_class.values()), "no summary row is highlighted (the fixture has one below -1.5)")
legacy = next((r for r in page.rows if r[0] == "mixed|t1|LEGACY"), None)
check(legacy is not None and legacy[-1] == "pass", f"mixed LEGACY gate cell: {legacy and legacy[-1]}")
check(all(len(r) == 14 for r in page.rows), "summary rows do not have 13 cells")

# Rendered (Chromium, probe)
def probes(dom_path):
    d = parse(dom_path)
    out = {}
    for cid, a in d.charts.items():
        p = a.get("data-probe")
        if p:
            k = p.split()
            out[cid] = dict(paths=int(k[0]), len=float(k[1]), pts=int(k[2]), vis=int(k[3]),
                            w=float(k[4]), h=float(k[5]), ticks=int(k[6]), legend=int(k[7]), fvis=int(k[8]))
    return d, out

dom, pr = probes(dom_path)
check(set(pr) == set(charts), f"rendered charts with a probe result: {len(pr)}, want {len(charts)}")
for cid, n in charts.items():
    p = pr.get(cid)
    if p is None:
        continue
    check(p["w"] >= 400 and p["h"] >= 200, f"{cid}: rendered {p['w']}x{p['h']}")
    check(p["paths"] >= 1 and p["len"] > 50, f"{cid}: plotted lines have length {p['len']} ({p['paths']} paths)")
    check(p["pts"] == n and p["vis"] == n, f"{cid}: {p['vis']} of {p['pts']} points visible, want {n}")
    check(p["fvis"] == n, f"{cid}: {p['fvis']} of {n} points inside the plot frame")
    # (a landing chart may hold HAKMEM alone: Ir/op of a multi-threaded series has no glibc reference)
    check(p["ticks"] >= 6 and p["legend"] >= (1 if cid.startswith("landing|") else 2),
          f"{cid}: {p['ticks']} tick labels, {p['legend']} legend entries")

charts1, _, nruns1, soak1 = expected("0f0f0f0f0f0f")
check(not soak1, "fixture: the other machine has no soak")
check(nruns1 == 1, "fixture: the other machine should have one run")
_, pr1 = probes(one_dom_path)
check(set(pr1) == set(charts1), f"one-run page charts: {sorted(pr1)}, want {sorted(charts1)}")
for cid, n in charts1.items():
    p = pr1.get(cid)
    if p:
        check(p["pts"] == n and p["vis"] == n and p["fvis"] == n,
              f"one-run {cid}: {p['vis']} of {p['pts']} points visible ({p['fvis']} in the frame), want {n}")

# Screenshot: a PNG of the window size
try:
    data = open(png_path, "rb").read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "screenshot is not a PNG")
    w, h = struct.unpack(">II", data[16:24])
    check((w, h) == (1240, 2000), f"screenshot is {w}x{h}")
    check(len(data) > 50_000, f"screenshot is only {len(data)} bytes (blank page?)")
except OSError as e:
    errors.append(f"screenshot: {e}")

for e in errors:
    print("FAIL:", e, file=sys.stderr)
print(f"checked {len(charts)} charts ({sum(charts.values())} points), {len(page.rows)} summary rows, "
      f"{page.gate_marks} gate markers, {len(page.soak_spans)} soak summary entries, {len(charts1)} one-run charts",
      file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

if [ "$failures" -ne 0 ]; then
  echo "dashboard_test: $failures failure(s)" >&2
  exit 1
fi
echo "dashboard_test: PASS"
