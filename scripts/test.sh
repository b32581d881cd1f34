#!/usr/bin/env bash
# Runs the whole test suite twice: on the optimised build and under ASan + UBSan; then, where
# scripts/setup.sh built them (LQ_CI=1), the install test on the Release (shared) and clang
# trees: tests/install/run.sh installs each and builds programs against it.
# Test data comes from $LIBQUANT_DATA (default ../shared/data beside the source tree).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for dir in build build-asan; do
  [ -d "$dir" ] || { echo "test: $dir missing; run scripts/setup.sh first" >&2; exit 2; }
  echo "== ctest in $dir"
  (cd "$dir" && ctest --output-on-failure -j"$jobs")
done
export LIBQUANT_DATA=${LIBQUANT_DATA:-$(cd .. && pwd)/shared/data}
for dir in build-release build-clang; do
  [ -d "$dir" ] || continue
  echo "== install test of $dir"
  # the consumers are built with the tree's compiler
  cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$dir/CMakeCache.txt")
  CC=$cc tests/install/run.sh "$dir" "$dir/install-test"
done
