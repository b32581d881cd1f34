#!/usr/bin/env bash
# The main job on the bundled tiny model: quantize the Hugging Face folder to a few types,
# evaluate each against the F16 reference on held-out text, and report what each cost
# (size, bits per weight, perplexity, KL divergence, top-1 agreement, worst tensors).
# Writes OUT_DIR/report.md, report.json, report.svg, report-tensors.svg and report.html
# (scripts/report-screenshot.sh renders the page).
# Usage: scripts/demo.sh [OUT_DIR=out/demo]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${LIBQUANT_DATA:-$(cd .. && pwd)/shared/data}
out=${1:-out/demo}
mkdir -p "$out"
quant=build/tools/quant
model=$data/models/tiny-llama-6L
$quant inspect --no-tensors "$model" | head -n 8
echo
$quant report "$model" --text "$data/text/heldout-A.txt" --ctx 256 --chunks 4 \
  --types q8_0,q6_k,q4_k_m,q4_0 --out "$out" --html
