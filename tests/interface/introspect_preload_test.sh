#!/usr/bin/env bash
# introspect_check (a plain C program) with LD_PRELOAD=libhakmem.so: its
# checks pass, and the malloc_info output it writes parses as XML with the
# elements of glibc's shape.
# usage: introspect_preload_test.sh LIBHAKMEM_SO INTROSPECT_CHECK
set -euo pipefail
lib="$(readlink -f "$1")" prog="$2"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
LD_PRELOAD="$lib" "$prog" "$tmp/malloc_info.xml"
python3 - "$tmp/malloc_info.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "malloc" and root.get("version") == "1", root.tag
heap = root.find("heap")
assert heap is not None and heap.get("nr") == "0"
assert heap.find("sizes") is not None
kinds = {(t.get("type")) for t in root.findall("total")}
assert kinds == {"fast", "rest", "mmap"}, kinds
for e in root.iter():
    for k in ("size", "count", "total", "from", "to"):
        if e.get(k) is not None:
            int(e.get(k))
print("malloc_info XML parses:", len(list(root.iter())), "elements")
PY
