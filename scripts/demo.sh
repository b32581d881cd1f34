#!/usr/bin/env bash
# The main job on the bundled tiny model: convert the Hugging Face folder to GGUF, quantize it
# to a few types, and print what each cost (size, bits per weight, per-tensor error).
# Usage: scripts/demo.sh [OUT_DIR=out/demo]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${LIBQUANT_DATA:-$(cd .. && pwd)/shared/data}
out=${1:-out/demo}
mkdir -p "$out"
quant=build/tools/quant
model=$data/models/tiny-llama-6L
$quant inspect --no-tensors "$model" | head -n 8
$quant convert "$model" -o "$out/tiny-f16.gguf" --type f16
for t in q8_0 q6_k q4_k_m q4_0; do
  $quant quantize "$out/tiny-f16.gguf" "$out/tiny-$t.gguf" "$t" --stats > "$out/stats-$t.txt"
done
printf '\n%-8s %10s %8s %12s\n' type MiB bpw "mean rel.RMSE"
for t in q8_0 q6_k q4_k_m q4_0; do
  f=$out/tiny-$t.gguf
  $quant inspect --json --no-tensors "$f" |
    awk -v t="$t" -v stats="$out/stats-$t.txt" '
      /"n_bytes"/ { gsub(/[^0-9]/, "", $2); b = $2 }
      /"bits_per_weight"/ { gsub(/[^0-9.]/, "", $2); bpw = $2 }
      END {
        n = 0; s = 0
        while ((getline line < stats) > 0) {
          split(line, f, " ")
          if (f[5] ~ /^[0-9.e+-]+$/ && f[7] ~ /^[0-9.]+$/) { s += f[7]; n++ }
        }
        printf "%-8s %10.2f %8.3f %12.5f\n", t, b / 1048576, bpw, n ? s / n : 0
      }'
done
