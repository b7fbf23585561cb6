#!/usr/bin/python3
"""tools/history.py — the recorded landings in benchmarks/history/history.jsonl
as the chain of baselines (issue 14), through `git` commands.

A *landing line* is a history line with "kind": "landing", written by
tools/record.sh (via tools/record.py) for every gated series of one commit.
The commits holding landing lines are the *recorded commits*; the newest one
(in file order) is the newest recorded entry.

  history.py baseline [--history F] [--rev REV] [--include-rev]
      prints the newest recorded commit that is a proper ancestor of REV
      (default HEAD; with --include-rev REV itself counts too), nothing when
      there is none (exit 0 either way; 2 on error)
  history.py identical BASE
      exit 0 when the inputs of the library and the drivers (SOURCE_PATHS)
      in the working tree are byte-identical to BASE's, 1 otherwise (and the
      differing files on stdout)
  history.py recorded COMMIT [--history F]
      the landing lines of COMMIT, one JSON object per line

Only git plumbing is used (git rev-parse, merge-base --is-ancestor, diff).
"""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys

# What the library and the workload drivers are built from: identical
# contents here mean identical binaries (same compiler).
SOURCE_PATHS = (
    "hakmem",
    "benchmarks/*.c",
    "benchmarks/*.h",
    "benchmarks/BUILD.bazel",
    "BUILD.bazel",
    "WORKSPACE",
    "deps.bzl",
    ".bazelrc",
)

# What the workload drivers alone are built from: when these differ between
# a recorded commit and the working tree, that commit's recorded Ir/op came
# from other drivers (tools/gate.py then measures the baseline library with
# the working tree's drivers instead of trusting the recorded value).
DRIVER_PATHS = (
    "benchmarks/*.c",
    "benchmarks/*.h",
    "benchmarks/BUILD.bazel",
)

LANDING = "landing"


class HistoryError(Exception):
    pass


def git(repo, *args, check=True):
    try:
        p = subprocess.run(["git", "-C", repo] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise HistoryError("git: %s" % e)
    if check and p.returncode != 0:
        raise HistoryError("git %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


def rev_parse(repo, rev):
    """The 40-hex commit of rev, or None."""
    p = git(repo, "rev-parse", "-q", "--verify", rev + "^{commit}", check=False)
    return p.stdout.strip() if p.returncode == 0 else None


def is_ancestor(repo, a, b):
    return git(repo, "merge-base", "--is-ancestor", a, b, check=False).returncode == 0


def load(path):
    """Every JSON line of the history (bad lines skipped)."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if isinstance(d, dict):
                    out.append(d)
    except FileNotFoundError:
        pass
    return out


def landings(lines):
    return [d for d in lines if d.get("kind") == LANDING and isinstance(d.get("commit"), str)]


def recorded_commits(lines):
    """Recorded commits, newest last (order of their last landing line)."""
    seen = {}
    for i, d in enumerate(landings(lines)):
        seen[d["commit"]] = i
    return [c for c, _ in sorted(seen.items(), key=lambda kv: kv[1])]


def pick_baseline(repo, lines, rev="HEAD", include_rev=False):
    """Newest recorded commit that is an ancestor of rev (proper unless
    include_rev), or None. Commits not in this clone are skipped."""
    head = rev_parse(repo, rev)
    if head is None:
        raise HistoryError("unknown revision %s" % rev)
    for c in reversed(recorded_commits(lines)):
        if rev_parse(repo, c) is None:
            continue
        if c == head and not include_rev:
            continue
        if is_ancestor(repo, c, head):
            return c
    return None


def differing_sources(repo, base, paths=SOURCE_PATHS):
    """Files among paths (default SOURCE_PATHS) that differ between base and
    the working tree (untracked ones included); [] when identical."""
    diff = git(repo, "diff", "--name-only", base, "--", *paths).stdout.split()
    extra = git(repo, "ls-files", "--others", "--exclude-standard", "--", *paths).stdout.split()
    return sorted(set(diff) | set(extra))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key.strip() in ("model name", "Model name"):
                    return " ".join(val.split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def compiler_version():
    """First line of `$CC --version` (CC=gcc): the compiler key of the
    recorded instruction counts."""
    cc = os.environ.get("CC", "gcc")
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0].strip() if out else cc
    except (OSError, subprocess.SubprocessError):
        return cc


def glibc_version():
    try:
        v = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
        if v:
            return v.split()[-1]
    except (ValueError, OSError):
        pass
    return platform.libc_ver()[1] or "unknown"


def machine_info():
    """The history lines' "machine" object."""
    m = {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "kernel": platform.release(),
        "compiler": compiler_version(),
        "glibc": glibc_version(),
    }
    key = "|".join(str(m[k]) for k in ("cpu", "cores", "kernel", "compiler", "glibc"))
    return {"id": hashlib.sha256(key.encode()).hexdigest()[:12], **m}


def file_hash(path):
    """First 16 hex digits of the file's sha256."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--history", help="default <repo>/benchmarks/history/history.jsonl")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("baseline")
    b.add_argument("--rev", default="HEAD")
    b.add_argument("--include-rev", action="store_true")
    i = sub.add_parser("identical")
    i.add_argument("base")
    r = sub.add_parser("recorded")
    r.add_argument("commit")
    args = ap.parse_args(argv)
    hist = args.history or os.path.join(args.repo, "benchmarks", "history", "history.jsonl")
    try:
        if args.cmd == "baseline":
            c = pick_baseline(args.repo, load(hist), args.rev, args.include_rev)
            if c:
                print(c)
            return 0
        if args.cmd == "identical":
            base = rev_parse(args.repo, args.base)
            if base is None:
                raise HistoryError("unknown revision %s" % args.base)
            d = differing_sources(args.repo, base)
            if d:
                print("\n".join(d))
                return 1
            return 0
        full = rev_parse(args.repo, args.commit) or args.commit
        for d in landings(load(hist)):
            if d["commit"] == full:
                print(json.dumps(d, separators=(",", ":")))
        return 0
    except HistoryError as e:
        print("history.py: error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
