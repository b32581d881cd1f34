/* simd.h - internal side of lq/simd.h: the level check and the call macro every kernel
 * dispatcher uses, so that lq_simd_level_set() caps all of them alike. */
#ifndef LQ_QUANTS_SIMD_H
#define LQ_QUANTS_SIMD_H

#include <stdbool.h>

#include "lq/simd.h"
#include "lqi.h" /* lqi_cpu_avx512_vnni */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LQI_X86 1
#else
#define LQI_X86 0
#endif

/* The level in force (enum lq_simd_level as int). Cheap: one relaxed atomic load. Pure as far
 * as callers can tell (the first call only caches what the CPU reports), which lets the
 * compiler fold the repeated checks of LQI_SIMD_CALL into one call. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((pure))
#endif
int lqi_simd_level(void);

/*
 * Calls avx512(...), avx2(...) or scalar(...), the first whose level is in force, and is
 * that call's value (void kernels too). A kernel without an AVX-512 variant passes its AVX2
 * one twice. Off x86 only `scalar` is referenced, so the SIMD kernels need not exist there.
 */
#if LQI_X86
#define LQI_SIMD_CALL(avx512, avx2, scalar, ...)                                                   \
    (lqi_simd_level() >= LQ_SIMD_AVX512 ? avx512(__VA_ARGS__)                                      \
     : lqi_simd_level() >= LQ_SIMD_AVX2 ? avx2(__VA_ARGS__)                                        \
                                        : scalar(__VA_ARGS__))
#else
#define LQI_SIMD_CALL(avx512, avx2, scalar, ...) scalar(__VA_ARGS__)
#endif

#endif /* LQ_QUANTS_SIMD_H */
