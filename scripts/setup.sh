#!/usr/bin/env bash
# Installs libquant's Debian packages (only those missing) and builds two trees:
#   build/      optimised build (RelWithDebInfo) with the `quant` command
#   build-asan/ the same with AddressSanitizer + UndefinedBehaviorSanitizer, for the tests
# Usage: scripts/setup.sh [--no-asan]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config clang zlib1g-dev libarchive-dev libxxhash-dev
          libcmocka-dev libjansson-dev libpcre2-dev libomp-14-dev libopenblas-dev
          liblapacke-dev time)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
if [ "${1:-}" != "--no-asan" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLQ_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
fi
echo "setup: built build/tools/quant"
