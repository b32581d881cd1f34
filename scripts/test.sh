#!/usr/bin/env bash
# Runs the whole test suite twice: on the optimised build and under ASan + UBSan.
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
