#!/usr/bin/env bash
# Text-processing workload for the LD_PRELOAD tests: awk generates a ~25 MB
# file, then sort (multi-threaded, with a small buffer so it spills to
# temporary files and merges), uniq, join, cut, tr, grep and awk associative
# arrays process it. Prints only digests and small results. Run with and
# without libhakmem.so in LD_PRELOAD: the outputs must be identical.
#
# usage: textproc_workload.sh WORKDIR    (WORKDIR is created; must not exist)
set -euo pipefail
export LC_ALL=C
work="$1"
mkdir "$work"
cd "$work"

# 400k lines: key, number, word, a variable-length payload (up to ~200 B).
awk 'BEGIN {
  x = 42
  for (i = 0; i < 400000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    w = substr("alphabravocharliedeltaechofoxtrotgolfhotelindiajuliett", 1 + x % 40, 3 + x % 9)
    p = ""
    for (j = 0; j < x % 24; j++) p = p sprintf("%x", (x + j * 7919) % 65536)
    printf "k%06d\t%d\t%s\t%s\n", x % 150000, x % 1000003, w, p
  }
}' >data.tsv

echo "== input"; wc -l <data.tsv; sha256sum <data.tsv
echo "== sort"
sort --parallel=2 -S 2M -T "$work" data.tsv | sha256sum
sort --parallel=2 -S 1M -T "$work" -t "$(printf '\t')" -k2,2n -k1,1 data.tsv | sha256sum
sort -u -t "$(printf '\t')" -k3,3 data.tsv | cut -f3 | sha256sum
sort -t "$(printf '\t')" -k4,4r -k1,1 data.tsv | sed -n '1p;1000p;$p'
echo "== uniq"
cut -f3 data.tsv | sort | uniq -c | sort -k1,1nr -k2 | sed -n 1,10p
echo "== join"
cut -f1,2 data.tsv | sort -t "$(printf '\t')" -k1,1 -u >a.tsv
cut -f1,3 data.tsv | sort -t "$(printf '\t')" -k1,1 -u >b.tsv
join -t "$(printf '\t')" a.tsv b.tsv | sha256sum
join -t "$(printf '\t')" a.tsv b.tsv | wc -l
echo "== awk"
# Associative arrays with 150k keys and growing string values.
awk -F '\t' '{ n[$1]++; s[$1] = s[$1] $3; tot[$3] += $2 }
  END {
    keys = 0; longest = 0
    for (k in n) { keys++; if (length(s[k]) > longest) longest = length(s[k]) }
    printf "keys %d longest %d\n", keys, longest
    for (w in tot) print w, tot[w] | "sort"
  }' data.tsv | sha256sum
echo "== tr grep"
tr 'a-f' 'A-F' <data.tsv | grep -c -E 'ABC|k0[0-9]{2}00'
grep -v -E '^k1' data.tsv | tr -d '0-9' | sort | uniq | wc -l
echo "== done"
