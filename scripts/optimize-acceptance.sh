#!/usr/bin/env bash
# Issue 14's acceptance numbers on tiny-llama-6L: `quant optimize` at the byte size of every
# llama.cpp recipe file from Q2_K to Q6_K in reference/llama.cpp/tiny-llama-6L, mean KL
# divergence against the F16 model on all of text/heldout-A.txt at ctx 256 (quant eval
# --compare), beside llama-perplexity's KLD of the recipe file (kld.json). Calibration:
# text/calib-A.txt. The cost table is measured once (WORK/work) and reused (--resume).
# Usage: scripts/optimize-acceptance.sh [WORK=/tmp/lq-opt-acc]
# Env: CHUNKS (evaluation chunks, default 190 = all), CALIB_TOKENS (2048), KLD_CHUNKS (4),
#      THREADS (default: all), SIZES (recipe names, default q2_k ... q6_k), EXTRA ("--no-gptq").
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/lq-opt-acc}
chunks=${CHUNKS:-190}
ctoks=${CALIB_TOKENS:-2048}
kchunks=${KLD_CHUNKS:-4}
threads=${THREADS:-$(nproc)}
sizes=${SIZES:-q2_k q3_k_m q4_0 q4_k_s q4_k_m.imatrix q4_1 q5_0 q5_k_m q5_1 q6_k}
data=${LIBQUANT_DATA:-$(cd .. && pwd)/shared/data}
ref=$data/reference/llama.cpp/tiny-llama-6L
calib=$data/text/calib-A.txt
q=build/tools/quant
mkdir -p "$work"
T=(/usr/bin/time -f "%e s wall, %M KB peak RSS")

[ -f "$work/f16.logits" ] ||
    $q eval "$ref/f16.gguf" --text "$data/text/heldout-A.txt" --ctx 256 --chunks "$chunks" \
        --threads "$threads" --save-logits "$work/f16.logits" -q >/dev/null

echo "| recipe | llama.cpp bytes | llama.cpp mean KLD | optimize bytes | optimize mean KLD | ratio |"
echo "|---|---:|---:|---:|---:|---:|"
for name in $sizes; do
    file=$ref/$name.gguf
    bytes=$(stat -c %s "$file")
    lkld=$(jq -r --arg n "$name" '.[$n].mean_kld' "$ref/kld.json")
    out=$work/opt@$name.gguf
    "${T[@]}" $q optimize "$ref/f16.gguf" --calib "$calib" --calib-ctx 256 \
        --calib-tokens "$ctoks" --kld-chunks "$kchunks" --target-size "$bytes" \
        --work "$work/work" --resume --plan-out "$work/opt@$name.json" -o "$out" \
        --threads "$threads" -q ${EXTRA:-} 2>"$work/opt@$name.time"
    okld=$($q eval "$out" --compare "$work/f16.logits" --threads "$threads" --json -q |
        jq -r '.kld.mean_kld')
    obytes=$(stat -c %s "$out")
    [ "$obytes" -le "$bytes" ] || { echo "$out: $obytes bytes > $bytes" >&2; exit 1; }
    printf '| %s | %d | %s | %d | %.6f | %.2f |\n' "$name" "$bytes" "$lkld" "$obytes" "$okld" \
        "$(echo "$okld / $lkld" | bc -l)"
done
