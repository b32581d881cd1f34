#!/usr/bin/env bash
# Installs libquant's Debian packages (only those missing) and builds two trees:
#   build/      optimised build (RelWithDebInfo) with the `quant` command
#   build-asan/ the same with AddressSanitizer + UndefinedBehaviorSanitizer, for the tests
# With LQ_CI=1 (.ci/run) two more, libraries and quant only, for scripts/test.sh's install test:
#   build-release/ Release with GCC, shared libraries
#   build-clang/   clang, static libraries
# Warnings are errors in all of them (LQ_WERROR); a plain `cmake` build only warns.
# Usage: scripts/setup.sh [--no-asan]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config clang zlib1g-dev libarchive-dev libxxhash-dev
          libcmocka-dev libjansson-dev libpcre2-dev libomp-14-dev libopenblas-dev
          liblapacke-dev time)
lock_wait=600 # seconds to wait for another apt/dpkg run (unattended upgrades, a parallel setup)

# apt-get waits for the dpkg lock itself (DPkg::Lock::Timeout) but not for the package lists'
# lock that `update` takes: retry that while another run holds it.
apt_update() {
  local waited=0 out
  until out=$($SUDO apt-get -o DPkg::Lock::Timeout=$lock_wait update -qq 2>&1); do
    if ! grep -q "Could not get lock\|Unable to lock" <<<"$out" || [ $waited -ge $lock_wait ]; then
      echo "$out" >&2
      return 1
    fi
    [ $waited -gt 0 ] || echo "setup: another package manager run holds the lock; waiting"
    sleep 5
    waited=$((waited + 5))
  done
  [ -z "$out" ] || echo "$out"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=$lock_wait install -y -qq \
    --no-install-recommends "${missing[@]}"
fi

# ccache when there is one: the four trees share most objects across runs.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
jobs=$(nproc 2>/dev/null || echo 2)
configure() { # configure DIR CMAKE-ARGS...
  local dir=$1
  shift
  cmake -S . -B "$dir" -DLQ_WERROR=ON "${launcher[@]}" "$@" >/dev/null
}
configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
if [ "${1:-}" != "--no-asan" ]; then
  # -O1: the sanitizers' usual level; the tests run about three times faster than at -O0
  configure build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" -DLQ_SANITIZE=ON
  cmake --build build-asan -j"$jobs"
fi
if [ -n "${LQ_CI:-}" ]; then
  configure build-release -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DLQ_BUILD_TESTS=OFF
  cmake --build build-release -j"$jobs"
  configure build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLQ_BUILD_TESTS=OFF
  cmake --build build-clang -j"$jobs"
fi
echo "setup: built build/tools/quant"
