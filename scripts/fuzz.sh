#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each, one at a time, with one worker.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]
#        scripts/fuzz.sh --runs N [TARGET...]      (N executions per target instead of a time)
# Each run ends with a line "== TARGET: EXECS execs in SECONDS s (EXECS/s), CRASHES crashes".
# New crashing inputs land in build-fuzz/crashes/<target>/; copy each into
# tests/fuzz/corpus/<target>/ (after fixing the bug) so ctest replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-max_total_time="${1:-60}")
if [ "${1:-}" = "--runs" ]; then
  limit=(-runs="$2")
  shift 2
else
  shift || true
fi
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
fi
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
# A small quarantine and no malloc fill: the readers allocate per input, and ASan's defaults
# (256 MB of freed blocks kept poisoned, 4 KB filled per malloc) halve the executions/s.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=8:max_malloc_fill_size=0}
status=0
for t in "${targets[@]}"; do
  bin=build-fuzz/tests/fuzz/fuzz_$t
  work=build-fuzz/corpus/$t
  crashes=build-fuzz/crashes/$t
  log=build-fuzz/fuzz-$t.log
  mkdir -p "$work" "$crashes"
  cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  echo "== fuzz $t (${limit[*]})"
  start=$(date +%s)
  rc=0
  "$bin" "$work" "${limit[@]}" -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1 ||
    rc=$?
  secs=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(find "$crashes" -type f | wc -l)
  echo "== $t: ${execs:-?} execs in $secs s ($(( ${execs:-0} / (secs > 0 ? secs : 1) ))/s)," \
    "$found crashes, exit $rc (log: $log)"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then status=1; fi
done
exit $status
