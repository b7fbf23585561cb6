#!/usr/bin/env bash
# A real server under load, once with the C library's malloc and once with
# LD_PRELOAD=libhakmem.so: started on a loopback port chosen free at run
# time, loaded for a bounded number of requests by its own benchmark tool,
# its answers checked by a client, stopped cleanly. Both runs must pass and
# print the same checked summary (behaviour, not speed, is compared); the
# preloaded server must have libhakmem.so mapped, must have initialised
# HAKMEM (its probe line, as in preload_compare.sh) and must print no
# "hakmem: " diagnostic.
#
# usage: server_test.sh --lib LIBHAKMEM_SO --client KV_CHECK_PY SERVER
#   SERVER: redis | memcached | nginx (Debian packages: bash tools/setup.sh)
# Environment: TEST_TMPDIR (bazel test), SERVER_TEST_REQUESTS (scales the load).
set -uo pipefail

die() { printf 'server_test: %s\n' "$*" >&2; exit 2; }
lib="" client=""
while [ $# -gt 0 ]; do
  case "$1" in
    --lib) lib="$2"; shift 2 ;;
    --client) client="$2"; shift 2 ;;
    *) break ;;
  esac
done
server="${1:-}"
[ -n "$lib" ] && [ -n "$client" ] && [ -n "$server" ] || die "usage: server_test.sh --lib SO --client PY SERVER"
[ -f "$lib" ] || die "libhakmem.so not found at $lib"
lib="$(readlink -f "$lib")"
client="$(readlink -f "$client")"
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
export LC_ALL=C
unset LD_PRELOAD
requests="${SERVER_TEST_REQUESTS:-10000}"
base="${TEST_TMPDIR:-$(mktemp -d)}"
probe_line="hakmem: unknown variable HAKMEM_PROBE_UNKNOWN ignored"

need() { command -v "$1" >/dev/null || die "'$1' not found: install it (bash tools/setup.sh)"; }
need python3
case "$server" in
  redis) need redis-server; need redis-cli; need redis-benchmark ;;
  memcached) need memcached ;;
  nginx) need nginx; need ab ;;
  *) die "unknown server $server" ;;
esac

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Bounded wait for a listening port (a loaded machine can take seconds).
wait_port() {  # wait_port PORT PID
  local i
  for i in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || return 1
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()' \
      "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    sleep 1
    kill -KILL "$pid" 2>/dev/null
  fi
  pid=""
}
trap cleanup EXIT

fail() {
  printf '\nFAIL (%s, %s run): %s\n' "$server" "$tag" "$*" >&2
  for f in "$dir"/*.log "$dir"/*.err; do
    [ -s "$f" ] && { printf -- '--- %s (last 20 lines) ---\n' "$(basename "$f")" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}

# Waits up to 30 s for the server to exit after the stop request.
wait_exit() {
  local i
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid"; return $?; }
    sleep 0.1
  done
  return 124
}

start() {  # start ENV... -- ARGV: starts the server in the background as $pid
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$@" >"$dir/server.log" 2>"$dir/server.err" </dev/null &
  pid=$!
}

run() {  # run TAG ENV...: one complete server run; writes $dir/summary
  tag="$1"
  shift
  dir="$base/$tag"
  rm -rf "$dir"
  mkdir -p "$dir"
  local attempt port started=0
  for attempt in 1 2 3; do  # another process may take the port in between
    port="$(free_port)"
    case "$server" in
      redis)
        start "$@" -- redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
          --dir "$dir" --daemonize no --logfile "$dir/redis.log" ;;
      memcached)
        # As root memcached wants a user to run as: the caller's.
        start "$@" -- memcached -l 127.0.0.1 -p "$port" -U 0 -m 256 -t 2 -c 256 -u "$(id -un)" ;;
      nginx)
        mkdir -p "$dir/www" "$dir/tmp"
        python3 - "$dir/www" <<'PY'
import hashlib, sys
d = sys.argv[1]
open(d + "/index.html", "w").write("<html><body>" + "hakmem " * 200 + "</body></html>\n")
blob = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(32768))  # 1 MiB
open(d + "/blob.bin", "wb").write(blob)
PY
        # As root nginx's workers would run as nobody, who cannot read $dir.
        user_line=""
        [ "$(id -u)" = 0 ] && user_line="user root;"
        cat >"$dir/nginx.conf" <<EOF2
$user_line
daemon off;
master_process on;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  gzip on;
  gzip_min_length 100;
  gzip_types application/octet-stream text/plain;
  server {
    listen 127.0.0.1:$port;
    root $dir/www;
    location / { }
  }
}
EOF2
        start "$@" -- nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" ;;
    esac
    if wait_port "$port" "$pid"; then
      started=1
      break
    fi
    cleanup
  done
  [ $started = 1 ] || fail "the server did not start listening on a free port (3 attempts)"
  local t0=$SECONDS

  if [ "$tag" = hakmem ]; then
    grep -qF "$lib" "/proc/$pid/maps" || fail "libhakmem.so is not mapped in the server (pid $pid)"
  fi

  # Load, then check answers.
  case "$server" in
    redis)
      redis-benchmark -h 127.0.0.1 -p "$port" -n $((requests / 2)) -c 16 -q -r 10000 -d 256 \
        -t set,get,incr,lpush,lpop,sadd,hset,mset >"$dir/bench.log" 2>"$dir/bench.err" \
        || fail "redis-benchmark failed"
      [ "$(grep -c 'requests per second' "$dir/bench.log")" -ge 8 ] || fail "redis-benchmark did not finish every test"
      python3 "$client" --proto redis --port "$port" --keys 1000 --threads 4 >"$dir/check.log" 2>"$dir/check.err" \
        || fail "the checking client got a wrong answer"
      [ "$(redis-cli -p "$port" dbsize)" -gt 500 ] || fail "redis lost keys"
      redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
      ;;
    memcached)
      # Load and check at once: 8 client threads.
      python3 "$client" --proto memcached --port "$port" --keys $((requests / 4)) --threads 8 \
        >"$dir/check.log" 2>"$dir/check.err" || fail "the checking client got a wrong answer"
      python3 "$client" --proto memcached --port "$port" --keys 1000 --threads 4 >"$dir/check2.log" 2>"$dir/check.err" \
        || fail "the checking client got a wrong answer (second pass)"
      kill -TERM "$pid"
      ;;
    nginx)
      ab -q -n "$requests" -c 16 -k "http://127.0.0.1:$port/index.html" >"$dir/ab.log" 2>"$dir/ab.err" \
        || fail "ab failed"
      ab -q -n $((requests / 20)) -c 8 -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/blob.bin" \
        >"$dir/ab_gzip.log" 2>"$dir/ab.err" || fail "ab (gzip) failed"
      for f in ab ab_gzip; do
        grep -Eq '^Failed requests: +0$' "$dir/$f.log" || fail "ab: failed requests ($f)"
        grep -q '^Non-2xx responses' "$dir/$f.log" && fail "ab: non-2xx responses ($f)"
      done
      python3 - "$port" "$dir/www" >"$dir/check.log" 2>"$dir/check.err" <<'PY' || fail "wrong content served"
import gzip, sys, urllib.request
port, www = sys.argv[1], sys.argv[2]
for name in ("index.html", "blob.bin"):
    want = open(www + "/" + name, "rb").read()
    for enc in ("identity", "gzip"):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/{name}", headers={"Accept-Encoding": enc})
        body = urllib.request.urlopen(req, timeout=60).read()
        if enc == "gzip" and body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        assert body == want, f"{name} ({enc}): {len(body)} bytes differ from the file"
print("nginx: index.html and blob.bin served right, plain and gzip")
PY
      kill -QUIT "$pid"  # graceful shutdown
      ;;
  esac
  wait_exit
  local rc=$?
  pid=""
  [ $rc -eq 0 ] || fail "the server exited with status $rc after the stop request"
  if grep -F 'hakmem: ' "$dir/server.err" "$dir"/*.log 2>/dev/null | grep -vF "$probe_line" | grep -q .; then
    fail "HAKMEM printed diagnostics"
  fi
  if [ "$tag" = hakmem ]; then
    grep -qF "$probe_line" "$dir/server.err" "$dir/error.log" 2>/dev/null \
      || fail "HAKMEM did not initialise in the server (no probe line on stderr)"
  fi
  cat "$dir"/check*.log >"$dir/summary"
  printf '%s run: %s on port %s, %d s\n' "$tag" "$server" "$port" $((SECONDS - t0))
}

run glibc
run hakmem LD_PRELOAD="$lib" HAKMEM_PROBE_UNKNOWN=1
cmp -s "$base/glibc/summary" "$base/hakmem/summary" \
  || { tag=compare; dir="$base/hakmem"; fail "checked answers differ between glibc and HAKMEM:
$(diff "$base/glibc/summary" "$base/hakmem/summary")"; }
cat "$base/hakmem/summary"
printf 'PASS (%s): same checked behaviour with glibc and with HAKMEM\n' "$server"
