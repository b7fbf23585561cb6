#!/usr/bin/env bash
# Test of tools/dashboard.py: renders the synthetic history
# tools/testdata/history_fixture.jsonl, then checks the page
#  - statically: no script, no external resource, one chart per workload x
#    threads x profile x metric (Ir/op replaced by a "not measured" note for
#    multi-threaded workloads), summary rows sorted by change / noise, gate
#    markers where the fixture's gate failed, the other machine not plotted;
#  - rendered in headless Chromium (Debian package `chromium`): a probe script
#    injected into a copy of the page measures every chart's plotted paths and
#    points with getBBox()/getBoundingClientRect(), --dump-dom returns the
#    result; every chart must have its expected number of points, visible
#    inside the chart, and lines of non-zero length; a --screenshot must be a
#    PNG of the window size;
#  - error handling: missing or empty history, unknown --machine.
# Usage (Bazel): dashboard_test.sh <dashboard.py> <history_fixture.jsonl>
set -uo pipefail

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
python3 "$DASH" --history="$TMP/none.jsonl" --out="$TMP/x.html" 2>"$TMP/err"
[ $? = 1 ] || fail "missing history: want exit 1"
grep -q "no history file" "$TMP/err" || fail "missing history: no message: $(cat "$TMP/err")"
: >"$TMP/empty.jsonl"
python3 "$DASH" --history="$TMP/empty.jsonl" --out="$TMP/x.html" 2>"$TMP/err"
[ $? = 1 ] || fail "empty history: want exit 1"
python3 "$DASH" --history="$FIXTURE" --out="$TMP/x.html" --machine=ffffffffffff 2>"$TMP/err"
[ $? = 2 ] || fail "unknown machine: want exit 2"
grep -q "a1b2c3d4e5f6" "$TMP/err" || fail "unknown machine: message does not list the machines"

# --- render the fixture --------------------------------------------------------
PAGE="$TMP/dashboard.html"
if ! python3 "$DASH" --history="$FIXTURE" --out="$PAGE" 2>"$TMP/err"; then
  fail "dashboard.py failed: $(cat "$TMP/err")"
  exit 1
fi
grep -q "skipped 1 line" "$TMP/err" || fail "the fixture's schema-0 line was not reported as skipped"
# Single-run page (the other machine): points but no line segments.
python3 "$DASH" --history="$FIXTURE" --out="$TMP/one.html" --machine=0f0f0f0f0f0f 2>/dev/null ||
  fail "render of the one-run machine failed"

# Probe: measures the rendered charts, writes the result into data-probe.
PROBE='<script>
for (const svg of document.querySelectorAll("svg.chart")) {
  const box = svg.getBoundingClientRect();
  let len = 0, w = 0, h = 0;
  const paths = svg.querySelectorAll("path.series");
  for (const p of paths) { const b = p.getBBox(); len += p.getTotalLength(); w = Math.max(w, b.width); h = Math.max(h, b.height); }
  let vis = 0;
  const pts = svg.querySelectorAll("circle.pt");
  for (const c of pts) {
    const r = c.getBoundingClientRect();
    if (r.width > 0 && r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom) vis++;
  }
  const ticks = svg.querySelectorAll("text.tick").length, legend = svg.querySelectorAll(".legend text").length;
  svg.setAttribute("data-probe", [paths.length, len.toFixed(1), pts.length, vis, box.width, box.height, ticks, legend].join(" "));
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
    return charts, missing, len(runs)

class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.missing, self.rows, self.gate_marks = {}, set(), [], 0
        self.scripts, self.external, self.row, self.cell = 0, [], None, None
        self.row_class = {}
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
    def handle_endtag(self, tag):
        if tag == "td" and self.row is not None and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        if tag == "tr":
            self.row = None

def parse(path):
    c = Collect()
    c.feed(open(path, encoding="utf-8").read())
    return c

charts, missing, nruns = expected("a1b2c3d4e5f6")
check(len(charts) == 14 and len(missing) == 2, f"fixture model: {len(charts)} charts, {len(missing)} missing")

# Static page
page = parse(page_path)
check(page.scripts == 0, f"the page has {page.scripts} <script> element(s)")
check(not page.external, f"external references: {page.external[:5]}")
check(set(page.charts) == set(charts), f"charts: got {sorted(page.charts)}, want {sorted(charts)}")
check(page.missing == missing, f"missing-chart notes: got {sorted(page.missing)}, want {sorted(missing)}")
for cid, n in charts.items():
    got = page.charts.get(cid, {}).get("data-points")
    check(got == str(n), f"{cid}: data-points={got}, want {n}")
check(page.gate_marks == 4, f"gate markers: {page.gate_marks}, want 4 (one per chart of mixed x1 LEGACY)")
raw = open(page_path, encoding="utf-8").read()
check("0f0f0f0f0f0f" in raw, "the other machine is not mentioned")
check("Other CPU" not in raw.split('id="summary"')[1], "the other machine's data reaches the summary or charts")

# Summary table: one row per group, sorted by change / noise (regressions first)
want_rows = sorted({cid.rsplit("|", 1)[0] for cid in charts})
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
                            w=float(k[4]), h=float(k[5]), ticks=int(k[6]), legend=int(k[7]))
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
    check(p["ticks"] >= 6 and p["legend"] >= 2, f"{cid}: {p['ticks']} tick labels, {p['legend']} legend entries")

charts1, _, nruns1 = expected("0f0f0f0f0f0f")
check(nruns1 == 1, "fixture: the other machine should have one run")
_, pr1 = probes(one_dom_path)
check(set(pr1) == set(charts1), f"one-run page charts: {sorted(pr1)}, want {sorted(charts1)}")
for cid, n in charts1.items():
    p = pr1.get(cid)
    if p:
        check(p["pts"] == n and p["vis"] == n, f"one-run {cid}: {p['vis']} of {p['pts']} points visible, want {n}")

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
      f"{page.gate_marks} gate markers, {len(charts1)} one-run charts", file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

if [ "$failures" -ne 0 ]; then
  echo "dashboard_test: $failures failure(s)" >&2
  exit 1
fi
echo "dashboard_test: PASS"
