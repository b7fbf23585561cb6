"""Allocation-heavy, deterministic Python workload for the LD_PRELOAD tests.

Run it with and without libhakmem.so preloaded: the output must be identical.
It exercises every size range of the allocator through CPython's own use of
malloc/realloc/free (pymalloc only serves objects <= 512 bytes; everything
bigger, every list/dict/set table and every buffer goes to the C allocator):
  * dicts, lists, sets and strings of many sizes, built, resized and deleted;
  * bytes/bytearray from 1 byte to 8 MiB (tiny, mid, large, own-mapping);
  * realloc growth (bytearray +=, list append, str join), shrink;
  * reference cycles freed by the garbage collector;
  * objects made in worker threads and freed by the main thread (remote
    frees), and a fork() after threads ran (the child allocates and reports);
  * json, pickle, zlib, hashlib, sorting: library code with its own buffers.
Each phase prints one line with a digest of what it computed.

With ALLOC_HEAVY_EXPECT_HAKMEM=1 in the environment (the preloaded run) it
also checks, through ctypes and HAKMEM's exported hak_owns/hak_stats_get,
that CPython's malloc'd objects really come from HAKMEM, and fails otherwise.
Those checks print nothing when they pass, so the output stays identical.

usage: python3 alloc_heavy.py [--scale N]   (N = 1 by default; smaller is faster)
"""

import ctypes
import gc
import hashlib
import json
import os
import pickle
import random
import sys
import threading
import zlib

SCALE = 1.0
if len(sys.argv) == 3 and sys.argv[1] == "--scale":
    SCALE = float(sys.argv[2])
elif len(sys.argv) != 1:
    sys.exit("usage: alloc_heavy.py [--scale N]")


def n(x):
    return max(1, int(x * SCALE))


def digest(*parts):
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, str):
            p = p.encode()
        elif not isinstance(p, (bytes, bytearray, memoryview)):
            p = repr(p).encode()
        h.update(p)
        h.update(b"|")
    return h.hexdigest()[:16]


def report(name, *parts):
    print("%-10s %s" % (name, digest(*parts)), flush=True)


# Sizes that cross every class boundary: tiny 8..1024, mid 1025..32 KiB,
# large > 32 KiB, own mapping > 1 MiB.
BOUNDARIES = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129,
              255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 1280, 2048, 4095,
              4096, 4097, 8192, 9344, 16384, 21760, 32767, 32768, 32769, 65536,
              131072, 1 << 20, (1 << 20) + 1, 3 << 20, 8 << 20]


def phase_bytes(rng):
    """Buffers of every size, filled, checked, freed in random order."""
    live = {}
    acc = hashlib.sha256()
    for i in range(n(6000)):
        if rng.random() < 0.02:
            size = rng.choice(BOUNDARIES)
        else:
            size = int(rng.expovariate(1 / 600.0)) if rng.random() < 0.8 else rng.randrange(1, 200000)
        b = bytes([i & 0xFF]) * size
        live[i] = b
        if len(live) > 300:
            k = rng.choice(list(live))
            v = live.pop(k)
            if v != bytes([k & 0xFF]) * len(v):
                raise SystemExit("bytes block %d corrupted" % k)
            acc.update(len(v).to_bytes(8, "little"))
    total = sum(len(v) for v in live.values())
    for k, v in live.items():
        if v.count(k & 0xFF) != len(v):
            raise SystemExit("bytes block %d corrupted at the end" % k)
    del live
    report("bytes", acc.digest(), total)


def phase_big(rng):
    """Buffers > 1 MiB: each its own mapping; realloc across the boundary."""
    out = []
    for size in [(1 << 20) - 1, 1 << 20, (1 << 20) + 4096, 3 << 20, 5 << 20, 8 << 20, 16 << 20]:
        ba = bytearray(size)
        for off in range(0, size, 4093):
            ba[off] = (off >> 3) & 0xFF
        ba.extend(b"tail" * 1000)          # realloc of a big block
        del ba[size // 2:]                 # shrink
        out.append(hashlib.sha256(ba).hexdigest()[:8])
        del ba
    # Grow one bytearray from nothing to 12 MiB by appends: realloc through
    # tiny, mid, large and mapped sizes.
    g = bytearray()
    step = 1
    while len(g) < (12 << 20) * SCALE:
        g += bytes([len(g) & 0xFF]) * step
        step = step * 2 if step < 65536 else step + 7919
    out.append(len(g))
    out.append(hashlib.sha256(g).hexdigest()[:8])
    del g
    report("big", out)


def phase_containers(rng):
    """Dicts, lists and sets of many sizes: hash tables and arrays resize."""
    d = {}
    for i in range(n(200000)):
        d["k%d" % rng.randrange(1 << 30)] = [i] * (i % 17)
    keys = sorted(d)[: n(100000)]
    for k in keys:
        del d[k]
    lst = [list(range(i % 300)) for i in range(n(20000))]
    for i in range(0, len(lst), 3):
        lst[i] = None
    s = set()
    for i in range(n(150000)):
        s.add((i * 2654435761) % 1000003)
    nested = {i: {j: str(j) * (j % 5) for j in range(i % 50)} for i in range(n(5000))}
    res = (len(d), sum(len(v) for v in d.values()),
           sum(len(x) for x in lst if x is not None), len(s), sum(s) % 1000000007,
           sum(len(v) for v in nested.values()))
    del d, keys, lst, s, nested
    report("containers", res)


def phase_strings(rng):
    """Strings: concatenation, join, split, replace, formatting, encode."""
    words = ["".join(chr(97 + rng.randrange(26)) for _ in range(rng.randrange(1, 40)))
             for _ in range(n(50000))]
    text = " ".join(words)
    up = text.upper().replace("A", "aa").split("E")
    acc = ""
    for w in words[: n(5000)]:
        acc += w                            # realloc of a growing string
    fmt = ["%s-%d-%r" % (w, i, w[::-1]) for i, w in enumerate(words[: n(20000)])]
    uni = [(w + "\u00e9\u4e2d\U0001f600") * (i % 7) for i, w in enumerate(words[: n(10000)])]
    enc = [u.encode("utf-8") for u in uni] + [u.encode("utf-16") for u in uni[:1000]]
    report("strings", len(text), len(up), sum(map(len, up)), acc[-50:], len(acc),
           fmt[-1], sum(map(len, enc)), sorted(words)[:3], max(words))


class Node:
    def __init__(self, i):
        self.i = i
        self.peer = None
        self.payload = b"x" * (i % 3000)


def phase_gc(rng):
    """Reference cycles that only the cycle collector frees."""
    gc.collect()
    freed = 0
    for rnd in range(n(20)):
        nodes = [Node(i) for i in range(2000)]
        for i, node in enumerate(nodes):
            node.peer = nodes[(i * 7 + rnd) % len(nodes)]
            node.self_ref = node
        del nodes
        freed += gc.collect()
    report("gc", freed > 0, gc.collect())


def worker(seed, out, idx):
    rng = random.Random(seed)
    made = []
    for i in range(n(6000)):
        size = rng.choice([24, 100, 700, 1500, 5000, 30000, 70000])
        made.append(bytes([seed & 0xFF]) * size)
        made.append({"i": i, "s": "v" * (i % 100)})
    out[idx] = made


def phase_threads(rng):
    """Blocks allocated by worker threads, freed by the main thread."""
    out = [None] * 4
    for rnd in range(n(3)):
        ts = [threading.Thread(target=worker, args=(rnd * 10 + k, out, k)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check = [sum(len(x) for x in made if isinstance(x, bytes)) for made in out]
        out = [None] * 4                     # main thread frees everything
    report("threads", check)


def phase_fork(rng):
    """fork() after threads have run: the child must allocate normally."""
    keep = [bytes(1000 + i) for i in range(100)]  # live blocks across fork
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            data = [str(i) * (i % 500) for i in range(50000)]
            big = bytearray(4 << 20)
            msg = digest(data, len(big), sum(map(len, keep))).encode()
            os.write(w, msg)
            os._exit(0)
        except BaseException:
            os._exit(3)
    os.close(w)
    chunks = []
    while True:
        c = os.read(r, 4096)
        if not c:
            break
        chunks.append(c)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    report("fork", os.waitstatus_to_exitcode(status), b"".join(chunks))


def phase_libs(rng):
    """Library code with its own buffers: json, pickle, zlib, sort."""
    obj = {"k%d" % i: [rng.random(), "s" * (i % 300), list(range(i % 40))] for i in range(n(20000))}
    js = json.dumps(obj, sort_keys=True)
    back = json.loads(js)
    pk = pickle.dumps(back, protocol=4)
    z = zlib.compress(pk, 6)
    un = zlib.decompress(z)
    items = sorted(back.items(), key=lambda kv: (kv[1][0], kv[0]))
    report("libs", len(js), hashlib.sha256(js.encode()).hexdigest(), un == pk, items[0][0], items[-1][0])


class HakStats(ctypes.Structure):
    """hak_stats_t from hakmem/hakmem.h."""
    _fields_ = [("size", ctypes.c_uint32), ("reserved", ctypes.c_uint32)] + [
        (f, ctypes.c_uint64) for f in (
            "superslabs_live", "superslabs_cached", "slabs_active", "large_live",
            "large_live_bytes", "large_cached_bytes", "os_mmap_calls", "os_munmap_calls",
            "os_madvise_calls", "os_mapped_bytes", "os_purged_bytes", "threads_live",
            "slabs_adopted")]


def check_served_by_hakmem():
    """CPython takes objects > 512 bytes straight from malloc, and a bytes
    object starts at the block malloc returned: hak_owns(id(obj)) must be 1."""
    prog = ctypes.CDLL(None)
    try:
        owns = prog.hak_owns
        stats_get = prog.hak_stats_get
    except AttributeError:
        sys.exit("ALLOC_HEAVY_EXPECT_HAKMEM=1 but hak_owns is not in the process: libhakmem.so not preloaded")
    owns.argtypes = [ctypes.c_void_p]
    owns.restype = ctypes.c_int
    keep = [bytes([i & 0xFF]) * size for i, size in enumerate([600, 1000, 2000, 5000, 30000, 40000,
                                                                 100000, 1 << 20, 3 << 20])]
    not_owned = [len(b) for b in keep if owns(id(b)) != 1]
    if not_owned:
        sys.exit("bytes objects of sizes %s were not allocated by HAKMEM" % not_owned)
    if owns(id(None)) != 0:  # a static object inside the interpreter
        sys.exit("hak_owns claims a static object of the interpreter")
    st = HakStats()
    st.size = ctypes.sizeof(HakStats)
    stats_get(ctypes.byref(st))
    if st.os_mmap_calls == 0 or st.superslabs_live == 0 or st.large_live == 0:
        sys.exit("hak_stats_get shows no HAKMEM activity: mmap calls %d, superslabs %d, large %d"
                 % (st.os_mmap_calls, st.superslabs_live, st.large_live))


def main():
    rng = random.Random(20240601)
    for phase in (phase_bytes, phase_big, phase_containers, phase_strings,
                  phase_gc, phase_threads, phase_fork, phase_libs):
        phase(rng)
    gc.collect()
    if os.environ.get("ALLOC_HEAVY_EXPECT_HAKMEM") == "1":
        check_served_by_hakmem()
    print("done", flush=True)


if __name__ == "__main__":
    main()
