#!/bin/sh
# Installs libquant from a build tree into a scratch prefix, then builds and runs the two
# consumer programs beside this script against that install: once through pkg-config and once
# through find_package(libquant) (CMakeLists.txt here). What a user of the library sees.
#
# Usage: tests/install/run.sh BUILD_DIR WORK_DIR [DATA_DIR]
#   DATA_DIR defaults to $LIBQUANT_DATA; the tiny model is DATA_DIR/models/tiny-llama-6L.
#   CC and LQ_CONSUMER_CFLAGS: the consumer's compiler and flags (a sanitizer build's
#   libraries need the sanitizer flags in their consumers too).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR WORK_DIR [DATA_DIR]" >&2; exit 2; }
build=$1
work=$2
data=${LIBQUANT_DATA:-${3:-}}
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
cflags=${LQ_CONSUMER_CFLAGS:-}
model=$data/models/tiny-llama-6L
[ -d "$model" ] || { echo "install test: no model at $model (set LIBQUANT_DATA)" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd) # CMAKE_PREFIX_PATH must be absolute
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
pc=$(find "$prefix" -name libquant.pc)
libdir=$(dirname "$(dirname "$pc")")
# A shared libquant in a prefix the loader does not search.
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# The installed program runs (a shared build finds libquant through its RUNPATH).
"$prefix/bin/quant" --version >/dev/null
# A shared libquant exports the LQ_API functions (lq_*) and nothing else.
so=$(find "$libdir" -name 'libquant.so.*.*.*')
if [ -n "$so" ]; then
    other=$(nm -D --defined-only "$so" | awk '$3 !~ /^lq_/ { print $3 }')
    [ -z "$other" ] || { echo "install test: $so exports non-API symbols: $other" >&2; exit 1; }
    soname=$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
    echo "== $(basename "$so"): soname $soname, $(nm -D --defined-only "$so" | wc -l) symbols, all lq_*"
fi

run_both() { # run_both TAG DIR: the two programs built into DIR
    "$2/q4k_roundtrip"
    "$2/convert_tiny" "$model" "$work/$1.gguf" 57
    rm -f "$work/$1.gguf"
}

echo "== pkg-config: $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs libquant)"
mkdir -p "$work/pc"
for prog in q4k_roundtrip convert_tiny; do
    # shellcheck disable=SC2046,SC2086 # flags are word lists
    $cc $cflags -o "$work/pc/$prog" "$here/$prog.c" \
        $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs libquant) -lm
done
run_both pc "$work/pc"

echo "== find_package(libquant)"
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log"
cmake --build "$work/cmake" >>"$work/cmake.log"
run_both cmake "$work/cmake"
echo "install test: ok ($prefix)"
