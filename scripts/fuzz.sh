#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a given time.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]
# New crashing inputs land in build-fuzz/crashes/<target>/; copy each into
# tests/fuzz/corpus/<target>/ (after fixing the bug) so ctest replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
fi
for t in "${targets[@]}"; do
  bin=build-fuzz/tests/fuzz/fuzz_$t
  work=build-fuzz/corpus/$t
  crashes=build-fuzz/crashes/$t
  mkdir -p "$work" "$crashes"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  echo "== fuzz $t for ${secs}s"
  "$bin" "$work" -max_total_time="$secs" -artifact_prefix="$crashes/" -print_final_stats=1 \
    2>&1 | tail -n 5
done
