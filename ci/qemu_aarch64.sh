#!/usr/bin/env bash
# --run_under wrapper for --config=aarch64: runs an aarch64 ELF under
# qemu-aarch64 with Debian's cross sysroot; anything else (a shell test) runs
# directly, with HAKMEM_RUN_UNDER set so it can prefix the binaries it starts.
set -euo pipefail
# -L: the guest's ld.so comes from the cross sysroot (libc6-arm64-cross). With
# the arm64 multiarch libc6 also installed (tools/setup.sh does), that ld.so
# would find /lib/aarch64-linux-gnu/libc.so.6 first: a mismatched ld.so/libc
# pair, and every pthread_create()/fork() then spins forever in the guest.
# LD_LIBRARY_PATH keeps the guest on the sysroot's own libc.
QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
export HAKMEM_RUN_UNDER="${QEMU[*]}"
# LeakSanitizer cannot run under QEMU user mode.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
prog="$1"
if ! command -v qemu-aarch64 >/dev/null; then
  echo "qemu_aarch64: qemu-aarch64 not found: install the Debian package 'qemu-user' (bash tools/setup.sh)" >&2
  exit 127
fi
if [ -f "$prog" ] && [ "$(head -c 4 "$prog" | od -An -c | tr -d ' ')" = '177ELF' ] \
   && [ "$(od -An -tu2 -j18 -N2 "$prog" | tr -d ' ')" = 183 ]; then
  exec "${QEMU[@]}" "$@"
fi
exec "$@"
