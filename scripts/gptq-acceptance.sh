#!/usr/bin/env bash
# Issue 7's acceptance numbers on tiny-llama-6L: imatrix against llama-imatrix's, quantize
# --imatrix against llama-quantize's bytes, and mean KL divergence against the F16 model
# (quant eval --compare) for RTN vs GPTQ (4-bit g128 safetensors, with and without act-order),
# GPTQ as Q4_0 / Q4_K_M / pure Q4_K blocks vs llama.cpp's rounding, and imatrix Q4_K_M vs plain.
# Calibration: text/calib-A.txt; evaluation: text/heldout-A.txt, ctx 256.
# Usage: scripts/gptq-acceptance.sh [WORK=/tmp/lq-gptq-acc]
# Env: CHUNKS (evaluation chunks, default 190 = all), CALIB_TOKENS (default 16384),
#      THREADS (default: all), OPENBLAS_CORETYPE (quant gptq sets SkylakeX/Haswell itself).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/lq-gptq-acc}
chunks=${CHUNKS:-190}
ctoks=${CALIB_TOKENS:-16384}
threads=${THREADS:-$(nproc)}
data=${LIBQUANT_DATA:-$(cd .. && pwd)/shared/data}
ref=$data/reference/llama.cpp/tiny-llama-6L
hf=$data/models/tiny-llama-6L
calib=$data/text/calib-A.txt
cmake --build build -j2 --target quant imatrix_diff >/dev/null
q=build/tools/quant
mkdir -p "$work"
T=(/usr/bin/time -f "%e s wall, %M KB peak RSS")

echo "== imatrix (ctx 256) against llama-imatrix"
"${T[@]}" $q imatrix "$ref/f16.gguf" --calib "$calib" --ctx 256 --threads "$threads" -o "$work/imatrix.gguf" 2>&1 | tail -2
build/tests/bench/imatrix_diff "$work/imatrix.gguf" "$ref/imatrix.gguf" 1e-4
$q quantize --imatrix "$work/imatrix.gguf" "$ref/f16.gguf" "$work/q4_k_m.imatrix.gguf" Q4_K_M >/dev/null 2>&1
cmp "$work/q4_k_m.imatrix.gguf" "$ref/q4_k_m.imatrix.gguf" && echo "Q4_K_M with our imatrix: byte-identical to llama-quantize's"

gptq() { # name, args...
  local name=$1; shift
  [ -e "$work/$name" ] && return 0
  "${T[@]}" $q gptq "$hf" --calib "$calib" --calib-ctx 256 --calib-tokens "$ctoks" --threads "$threads" \
    --log "$work/$name.json" -o "$work/$name" "$@" 2>"$work/$name.log" || { tail "$work/$name.log"; exit 1; }
  echo "$name: $(tail -1 "$work/$name.log")"
}
gptq rtn-4b-g128 --format safetensors --rtn
gptq gptq-4b-g128 --format safetensors
gptq gptq-4b-g128-act --format safetensors --act-order
gptq gptq-q4_0.gguf --type Q4_0
gptq gptq-q4_k_m.gguf --type Q4_K_M
gptq gptq-q4_k-pure.gguf --type Q4_K_M --pure
[ -f "$work/q4_k-pure.gguf" ] || $q quantize --pure "$ref/f16.gguf" "$work/q4_k-pure.gguf" Q4_K_M >/dev/null 2>&1

echo "== F16 base logits ($chunks chunks of 256)"
[ -f "$work/f16.logits" ] || $q eval "$ref/f16.gguf" --text "$data/text/heldout-A.txt" --ctx 256 \
  --chunks "$chunks" --threads "$threads" --save-logits "$work/f16.logits" --json >/dev/null 2>&1

kld() { # model -> mean KLD
  $q eval "$1" --compare "$work/f16.logits" --chunks "$chunks" --threads "$threads" --json 2>/dev/null |
    sed -n 's/.*"mean_kld": *\([-0-9.e+]*\).*/\1/p'
}
echo "== mean KLD against F16 (heldout-A, ctx 256, $chunks chunks)"
for m in rtn-4b-g128 gptq-4b-g128 gptq-4b-g128-act gptq-q4_0.gguf "$ref/q4_0.gguf" \
         gptq-q4_k_m.gguf "$ref/q4_k_m.gguf" gptq-q4_k-pure.gguf q4_k-pure.gguf \
         "$ref/q4_k_m.imatrix.gguf"; do
  p=$m; [ -e "$p" ] || p=$work/$m
  printf '%-40s %s\n' "$(basename "$m")" "$(kld "$p")"
done
