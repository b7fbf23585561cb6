#!/usr/bin/env python3
"""tests/fuzz/make_corpus.py — writes the hand-crafted seed corpus of the API
fuzzer (tests/fuzz/corpus/seed_*) in the input encoding that
tests/fuzz/fuzz_model.cc documents. Rerun after changing the encoding:

    python3 tests/fuzz/make_corpus.py

Each seed exercises one area (tiers, cross-thread hand-over, realloc across
tiers, aligned allocation, bursts with thread restarts, calloc, a concurrent
mix); the fuzzer mutates from them. Stdlib only.
"""
import os
import sys

MALLOC, CALLOC, REALLOC, FREE, MEMALIGN, POSIX, ALIGNED, USABLE = range(8)
GIVE, TAKE, SYNC, BURST, TRIM, STATS = range(8, 14)

# sync flags
CONC, B_FIRST, VERIFY, SEGCHECK, RESTART, DO_TRIM = 1, 2, 4, 8, 16, 32


def op(kind, lane=0):
    return bytes([(lane << 7) | kind])


def u16(v):
    return bytes([v & 255, (v >> 8) & 255])


# ---- sizes (DecodeSize) ----
def tiny(n):
    assert 0 <= n <= 1024
    return bytes([0x00]) + u16(n)


def cls(i, delta=0):  # class size i (0..25) + delta in -1..1
    return bytes([5 | ((delta + 1) << 4)]) + u16(i)


def mid(n):
    assert 1025 <= n <= 32768
    return bytes([7]) + u16(n - 1025)


def large(n):
    assert 32769 <= n <= 32769 + 65535 * 16 + 15
    k = n - 32769
    return bytes([11 | ((k % 16) << 4)]) + u16(k // 16)


def edge(i):  # 0..15: tier edges (32767 .. 2 MiB + 1)
    return bytes([12]) + u16(i)


def huge(n):
    k = n - (1 << 20) - 1
    assert k >= 0 and k % 32 == 0
    return bytes([14 | 0xC0]) + u16(k // 32)


def special(k):  # 0: 0 B, 1: SIZE_MAX, 2: SIZE_MAX/2+1, 3: SIZE_MAX-4095, 4: 2^62
    return bytes([15 | (k << 4)]) + u16(0)


def align(k):  # 1 << k, k < 23
    return bytes([k])


def odd_align(i):  # 0, 3, 24, 48, 1000, 4097, 65537, 12, ...
    return bytes([0xE8 + i])


def malloc(slot, size, lane=0):
    return op(MALLOC, lane) + bytes([slot]) + size


def calloc(slot, shape, size, lane=0):
    return op(CALLOC, lane) + bytes([slot, shape]) + size


def realloc(slot, mode, size, lane=0):
    return op(REALLOC, lane) + bytes([slot, mode]) + size


def free(slot, lane=0):
    return op(FREE, lane) + bytes([slot])


def aligned(kind, slot, a, size, lane=0):
    return op(kind, lane) + bytes([slot]) + a + size


def usable(slot, lane=0):
    return op(USABLE, lane) + bytes([slot])


def give(slot, lane=0):
    return op(GIVE, lane) + bytes([slot])


def take(slot, lane=0, drain=False):
    return op(TAKE, lane) + bytes([(0x80 if drain else 0) | slot])


def sync(flags):
    return op(SYNC) + bytes([flags])


def burst(count, order, size, lane=0):
    return op(BURST, lane) + bytes([count, order]) + size


def seeds():
    s = {}

    # Every tier from lane A: class edges, usable checks, frees in mixed order.
    b = b""
    for i in range(26):
        b += malloc(i % 32, cls(i, (i % 3) - 1))
    for i in range(0, 26, 3):
        b += usable(i)
    b += malloc(26, large(40000)) + malloc(27, edge(9)) + malloc(28, huge(1048577 + 32 * 1000))
    b += malloc(29, tiny(0)) + malloc(30, special(1)) + op(STATS)
    for i in range(29, -1, -2):
        b += free(i)
    s["seed_tiers"] = b

    # Hand-over: A allocates and gives, B takes and frees (one after the
    # other, then concurrently), B gives back, A drains the mailbox.
    b = b""
    for i in range(8):
        b += malloc(i, [tiny(24), mid(3000), large(70000), tiny(1000)][i % 4]) + give(i)
    b += sync(VERIFY)
    for i in range(8):
        b += take(i, lane=1)
    for i in range(8):
        b += free(i, lane=1)
    for i in range(6):
        b += malloc(i, [tiny(200), mid(9000), cls(7, 1)][i % 3], lane=1) + give(i, lane=1)
    b += sync(CONC | SEGCHECK)
    b += take(0, drain=True) + malloc(1, tiny(64))
    b += sync(RESTART | SEGCHECK)
    b += malloc(2, tiny(64), lane=1) + give(2, lane=1)
    s["seed_handover"] = b

    # realloc: growth chain across tiers, shrink back, 0-ish, impossible.
    b = malloc(0, tiny(1))
    for size in [tiny(100), tiny(1024), mid(1025), mid(20000), large(32769), large(500000),
                 edge(13), huge(1048577 + 32 * 2000)]:
        b += realloc(0, 0, size)
    for mode in [3, 3, 4, 3, 2, 4, 3, 3, 3, 6, 2, 7]:
        b += realloc(0, mode, tiny(5))
    b += realloc(0, 5, tiny(0)) + realloc(1, 0, mid(5000)) + realloc(1, 5, tiny(0))
    b += realloc(2, 0, special(1)) + realloc(3, 0, tiny(0)) + realloc(3, 1, mid(4000))
    s["seed_realloc"] = b

    # Aligned allocation: every power of two with tiny / mid / large sizes,
    # odd alignments, impossible sizes.
    b = b""
    slot = 0
    for k in range(0, 23, 2):
        for kind in (MEMALIGN, POSIX, ALIGNED):
            b += aligned(kind, slot % 32, align(k), [tiny(100), mid(5000), large(40000)][slot % 3])
            slot += 1
    for i in range(8):
        for kind in (MEMALIGN, POSIX, ALIGNED):
            b += aligned(kind, slot % 32, odd_align(i), tiny(50))
            slot += 1
    b += aligned(POSIX, 1, align(12), special(1)) + aligned(MEMALIGN, 2, align(4), special(3))
    s["seed_aligned"] = b

    # Bursts (every free order, calloc bursts, hand-over bursts) on both
    # lanes, worker thread replaced between phases, checks and trim.
    b = b""
    b += burst(63, 0, tiny(1000)) + burst(0x40 | 15, 1, tiny(16)) + burst(20, 2, mid(30000))
    b += burst(10, 3 | 8, mid(2000), lane=1) + sync(CONC | RESTART | SEGCHECK)
    b += take(0, drain=True) + burst(5, 2, large(100000), lane=1)
    b += sync(RESTART | SEGCHECK | DO_TRIM)
    b += malloc(0, tiny(8), lane=1) + give(0, lane=1) + sync(B_FIRST | RESTART) + take(0) + op(TRIM)
    s["seed_bursts"] = b

    # calloc: shapes, swapped arguments, overflowing products, recycled
    # large spans and mid blocks that must come back zeroed.
    b = b""
    for i in range(4):
        b += malloc(i, large(200000 + i * 4096)) + malloc(8 + i, mid(12000))
    for i in range(4):
        b += free(i) + free(8 + i)
    for i in range(6):
        b += calloc(i, i | (0x80 if i & 1 else 0), large(200000 + i * 4096))
        b += calloc(8 + i, i, mid(12000))
    for i in range(4):
        b += calloc(16 + i, 0x70 | i, tiny(1))
    b += calloc(20, 0, special(2)) + calloc(21, 0, huge(1048577 + 32 * 100))
    s["seed_calloc"] = b

    # Both lanes busy at once: mixed sizes, reallocs of handed-over blocks
    # (freed cross-thread inside realloc), trims and stats on the way.
    b = b""
    for r in range(6):
        for lane in (0, 1):
            b += malloc(r, [tiny(40), mid(2500), tiny(500), large(65536)][(r + lane) % 4], lane)
            b += give(r, lane) + take(8 + r, lane) + realloc(8 + r, r % 5, tiny(700), lane)
        b += op(TRIM, 1) + op(STATS, 0)
        b += sync(CONC | (VERIFY if r % 2 else SEGCHECK))
    s["seed_concurrent"] = b
    return s


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    total = 0
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        total += len(data)
        print(f"{name}: {len(data)} bytes")
    print(f"total {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
