#!/usr/bin/env bash
# HAKMEM setup: installs everything the build, the tests (x86-64 and aarch64
# under QEMU) and the benchmarks need, from Debian's archive only.
# Idempotent: when every package is present it only checks and exits (~1 s).
#
#   sudo bash tools/setup.sh          # or as root
#   HAKMEM_SETUP_NO_ARM64=1 ...       # skip the arm64 multiarch libraries
set -euo pipefail

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# Host (amd64) packages, grouped by what needs them.
HOST_PKGS=(
  # build
  bazel-bootstrap pkgconf gcc g++ clang libclang-rt-14-dev
  # test and benchmark dependencies (GoogleTest from source, the rest prebuilt)
  googletest libbenchmark-dev libabsl-dev
  # aarch64 cross toolchain and emulator
  qemu-user gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross
  # peer allocators for side-by-side comparisons
  libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev
  # measuring
  valgrind time hyperfine
  # real programs run under LD_PRELOAD in integration tests
  python3 sqlite3 git
  # servers under load in //tests/servers (with their benchmark tools)
  redis-server redis-tools memcached nginx-light apache2-utils
  # CPU hog for checking the suite on a loaded machine (README "Tests")
  stress-ng
  # statistics of the performance tools (tools/stats.py: numpy, scipy.stats), for /usr/bin/python3
  python3-numpy python3-scipy
  # headless browser: //tools:dashboard_test renders the benchmark dashboard
  chromium
)
# arm64 multiarch libraries the aarch64 test and benchmark binaries link.
ARM64_PKGS=(libabsl-dev:arm64 libbenchmark-dev:arm64)

missing() {  # prints the packages of "$@" that are not installed
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      printf '%s\n' "$p"
    fi
  done
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  fi
fi
need_root() {
  if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
    die "root is needed to install: $* -- rerun as root or with passwordless sudo"
  fi
}

APT_UPDATED=0
apt_update() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    "${SUDO[@]}" apt-get update -qq || die "apt-get update failed (is Debian's archive reachable?)"
    APT_UPDATED=1
  fi
}

apt_install() {
  local pkgs=("$@")
  need_root "${pkgs[*]}"
  apt_update
  log "installing: ${pkgs[*]}"
  if ! DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/tmp/hakmem-setup-apt.log 2>&1; then
    # Name the package that failed: retry one at a time.
    local p
    for p in "${pkgs[@]}"; do
      DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$p" \
        >>/tmp/hakmem-setup-apt.log 2>&1 || die "apt-get install failed for package '$p' (log: /tmp/hakmem-setup-apt.log)"
    done
  fi
}

mapfile -t todo < <(missing "${HOST_PKGS[@]}")
if [ ${#todo[@]} -gt 0 ]; then
  apt_install "${todo[@]}"
else
  log "host packages present (${#HOST_PKGS[@]})"
fi

if [ "${HAKMEM_SETUP_NO_ARM64:-0}" != 1 ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    need_root "the arm64 architecture (dpkg --add-architecture arm64)"
    log "dpkg --add-architecture arm64"
    "${SUDO[@]}" dpkg --add-architecture arm64
    APT_UPDATED=0
  fi
  mapfile -t todo < <(missing "${ARM64_PKGS[@]}")
  if [ ${#todo[@]} -gt 0 ]; then
    apt_install "${todo[@]}"
  else
    log "arm64 packages present (${#ARM64_PKGS[@]})"
  fi
fi

# buildifier (BUILD/.bzl formatter and linter; tools/buildifier_check.sh):
# the npm package carries the binary, so it installs offline from the npm
# registry. Pinned; skipped when that version is already on PATH.
BUILDIFIER_VERSION=8.2.1
if [ "$(buildifier --version 2>/dev/null | sed -n 's/^buildifier version: *\([^ ]*\).*/\1/p')" = "$BUILDIFIER_VERSION" ]; then
  log "buildifier $BUILDIFIER_VERSION present"
else
  need_root "buildifier (npm install -g)"
  # npm: the machine's own (Node.js packages often bring it) or Debian's.
  command -v npm >/dev/null || apt_install npm
  log "npm install -g @bazel/buildifier@$BUILDIFIER_VERSION"
  "${SUDO[@]}" npm install -g --no-audit --no-fund "@bazel/buildifier@$BUILDIFIER_VERSION" >/tmp/hakmem-setup-npm.log 2>&1 \
    || die "npm install -g @bazel/buildifier@$BUILDIFIER_VERSION failed (log: /tmp/hakmem-setup-npm.log)"
  command -v buildifier >/dev/null || die "buildifier not on PATH after npm install -g (npm prefix: $(npm prefix -g))"
fi

command -v bazel >/dev/null || die "bazel not on PATH after installing bazel-bootstrap"
[ -f /usr/src/googletest/googletest/src/gtest-all.cc ] || die "GoogleTest sources missing: install package 'googletest'"
log "done"
