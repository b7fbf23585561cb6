#!/usr/bin/env python3
"""Checking client for redis (RESP) and memcached (text protocol).

Each of --threads threads opens its own connection and, for its share of
--keys keys, sets a value whose size and bytes are derived from the key
(1 B .. 256 KiB, a few sizes across every allocator class), reads every
value back and compares it byte for byte, overwrites half of them with new
sizes (realloc-like growth and shrink in the server), deletes a quarter and
checks that they are gone. Prints one summary line that depends only on the
arguments (compared between the glibc and the HAKMEM run); exits 1 on the
first wrong answer, naming the key.
"""
import argparse
import hashlib
import socket
import sys
import threading

SIZES = [1, 7, 16, 100, 300, 1000, 1500, 4000, 9000, 30000, 70000, 262144]


def value(key, gen):
    h = hashlib.sha256(f"{key}/{gen}".encode()).digest()
    size = SIZES[(h[0] + gen) % len(SIZES)]
    return (h * (size // len(h) + 1))[:size]


class Conn:
    def __init__(self, port, timeout):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed by the server")
            self.buf += chunk
        i = self.buf.index(b"\r\n")
        out, self.buf = self.buf[:i], self.buf[i + 2:]
        return out

    def exact(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise EOFError("connection closed by the server")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class Redis(Conn):
    def cmd(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.send(b"".join(parts))
        return self.reply()

    def reply(self):
        l = self.line()
        t, rest = l[:1], l[1:]
        if t in (b"+", b":"):
            return rest
        if t == b"-":
            raise RuntimeError("redis error: " + rest.decode())
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.exact(n + 2)
            return data[:-2]
        raise RuntimeError("unexpected reply %r" % l)

    def set(self, k, v):
        return self.cmd("SET", k, v) == b"OK"

    def get(self, k):
        return self.cmd("GET", k)

    def delete(self, k):
        return self.cmd("DEL", k) == b"1"


class Memcached(Conn):
    def set(self, k, v):
        self.send(b"set %s 0 0 %d\r\n%s\r\n" % (k.encode(), len(v), v))
        return self.line() == b"STORED"

    def get(self, k):
        self.send(b"get %s\r\n" % k.encode())
        l = self.line()
        if l == b"END":
            return None
        parts = l.split()
        if parts[0] != b"VALUE" or parts[1] != k.encode():
            raise RuntimeError("unexpected reply %r" % l)
        data = self.exact(int(parts[3]) + 2)[:-2]
        if self.line() != b"END":
            raise RuntimeError("no END after VALUE")
        return data

    def delete(self, k):
        self.send(b"delete %s\r\n" % k.encode())
        return self.line() == b"DELETED"


def worker(cls, port, keys, timeout, errors):
    try:
        c = cls(port, timeout)
        for k in keys:
            if not c.set(k, value(k, 0)):
                raise RuntimeError(f"set {k} failed")
        for k in keys:
            if c.get(k) != value(k, 0):
                raise RuntimeError(f"get {k}: wrong value")
        for k in keys[::2]:
            if not c.set(k, value(k, 1)):
                raise RuntimeError(f"overwrite {k} failed")
        for i, k in enumerate(keys):
            want = value(k, 1 if i % 2 == 0 else 0)
            if c.get(k) != want:
                raise RuntimeError(f"get {k} after overwrite: wrong value")
        for k in keys[1::4]:
            if not c.delete(k):
                raise RuntimeError(f"delete {k} failed")
            if c.get(k) is not None:
                raise RuntimeError(f"{k} still there after delete")
    except Exception as e:  # reported by the main thread
        errors.append(f"{type(e).__name__}: {e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proto", choices=["redis", "memcached"], required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--keys", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    cls = Redis if a.proto == "redis" else Memcached
    errors = []
    threads = []
    for t in range(a.threads):
        keys = [f"k{t}_{i}" for i in range(t, a.keys, a.threads)]
        threads.append(threading.Thread(target=worker, args=(cls, a.port, keys, a.timeout, errors)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("kv_check: FAIL: " + "; ".join(errors), file=sys.stderr)
        return 1
    print(f"kv_check {a.proto}: {a.keys} keys x {len(SIZES)} sizes set, read back, "
          f"half overwritten, a quarter deleted: all answers right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
