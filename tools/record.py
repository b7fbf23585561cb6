#!/usr/bin/python3
"""tools/record.py — turns a gate run (tools/gate.py --json summary) of a
commit into its landing lines in benchmarks/history/history.jsonl (issue 14).
tools/record.sh runs the gate and then this; see there for the workflow.

One line per gated series, schema 1 (the keys every history line has) plus:
  "kind": "landing"          marks a recorded landing (the chain of baselines)
  "baseline": SHA | null     the recorded commit it was compared with (null:
                             the first landing, measured against itself)
  "ops_ratio", "ops_ratio_ci", "ir_ratio", "rss_ratio"
                             paired ops/s ratio to that baseline (trimmed
                             mean, 95% bootstrap interval), Ir/op and peak
                             RSS ratios
  "iters", "cg_iters"        timed and callgrind iterations (the Ir/op
                             ratchet compares like with like)
  "accepted_regression": TEXT | null
                             the reason given for recording a regression
  "gate": {"status", "metric", "detail"}   the gate's verdict on the series
The values (median_ops, ir_per_op, peak_rss_kib) are the commit's own.

Refuses (exit 1) to record a run whose gate failed unless --reason is given,
and a commit that already has landing lines unless --force. Exit 2: usage.
"""

import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import history  # noqa: E402
import stats  # noqa: E402


def landing_lines(summary, commit, baseline, reason, machine, date):
    cfg = summary.get("config") or {}
    lines = []
    for s in summary["series"]:
        ops, ir, rss = s.get("ops") or {}, s.get("ir") or {}, s.get("rss") or {}
        heads = [h for _, h in ops.get("pairs") or []]
        failed = s["gate"]["status"] == "fail"
        lines.append({
            "schema": 1,
            "commit": commit,
            "date": date,
            "machine": machine,
            "workload": s["workload"],
            "profile": s.get("profile"),
            "variant": None,
            "threads": s.get("threads") or 1,
            "allocator": "hakmem",
            "lib_hash": (summary.get("head") or {}).get("lib_hash"),
            "n": len(heads),
            "median_ops": stats.median(heads) if heads else None,
            "mad_ops": stats.mad(heads) if heads else None,
            "ratio_glibc": None,
            "ratio_mad": None,
            "ir_per_op": round(ir["head"], 3) if "head" in ir else None,
            "peak_rss_kib": int(rss["head"]) if "head" in rss else None,
            "gate": s["gate"],
            "kind": history.LANDING,
            "baseline": baseline,
            "ops_ratio": round(ops["ratio"], 5) if "ratio" in ops else None,
            "ops_ratio_ci": [round(x, 5) for x in ops["ci"]] if ops.get("ci") else None,
            "ir_ratio": round(ir["ratio"], 5) if "ratio" in ir else None,
            "rss_ratio": round(rss["ratio"], 5) if "ratio" in rss else None,
            "iters": ops.get("iters"),
            "cg_iters": cfg.get("cg_iters"),
            "accepted_regression": reason if failed else None,
        })
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description="Append a gate run's landing lines to the history.")
    ap.add_argument("--summary", required=True, help="tools/gate.py --json output")
    ap.add_argument("--commit", required=True, help="the commit measured (40 hex)")
    ap.add_argument("--baseline", default="", help="the recorded commit it was compared with ('' for none)")
    ap.add_argument("--history", required=True, help="history file to append to")
    ap.add_argument("--reason", help="accept a regression: why it is deliberate (stored in the lines)")
    ap.add_argument("--force", action="store_true", help="record even if the commit already has landing lines")
    args = ap.parse_args(argv)
    try:
        with open(args.summary) as f:
            summary = json.load(f)
    except (OSError, ValueError) as e:
        print("record: cannot read %s: %s" % (args.summary, e), file=sys.stderr)
        return 2
    if len(args.commit) != 40:
        print("record: --commit wants 40 hex digits", file=sys.stderr)
        return 2
    if args.reason is not None and not args.reason.strip():
        print("record: an empty reason accepts nothing", file=sys.stderr)
        return 2
    existing = [d for d in history.landings(history.load(args.history)) if d["commit"] == args.commit]
    if existing and not args.force:
        print("record: %s is already recorded (%d landing lines); --force records it again"
              % (args.commit[:12], len(existing)), file=sys.stderr)
        return 1
    failed = [s for s in summary["series"] if s["gate"]["status"] == "fail"]
    if failed and args.reason is None:
        print("record: REFUSED: the gate found a regression against %s in:" % (args.baseline[:12] or "?"),
              file=sys.stderr)
        for s in failed:
            print("  %s/%s@%d: %s" % (s["workload"], s.get("profile") or "-", s.get("threads") or 1,
                                      s["gate"]["detail"]), file=sys.stderr)
        print("record: fix it, or accept it deliberately: bash tools/record.sh "
              "--accept-regression='why this is worth it'", file=sys.stderr)
        return 1
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = landing_lines(summary, args.commit, args.baseline or None,
                          args.reason.strip() if args.reason else None, history.machine_info(), date)
    os.makedirs(os.path.dirname(os.path.abspath(args.history)), exist_ok=True)
    with open(args.history, "a") as f:
        f.write("".join(json.dumps(d, separators=(",", ":")) + "\n" for d in lines))
    print("record: appended %d landing lines for %s to %s%s" % (
        len(lines), args.commit[:12], args.history,
        " (regression accepted: %s)" % args.reason.strip() if failed else ""))
    if args.reason and not failed:
        print("record: note: no series regressed; the reason was not needed and is not stored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
