/*
 * lq/simd.h - which instruction set libquant's kernels use.
 *
 * Kernels pick a path at run time from what the CPU supports: portable scalar C, AVX2
 * (with FMA and F16C), AVX-512 (F, BW, VL), or AVX-512 with AMX tiles (the batched BF16
 * and 8-bit products of prompt processing in tile registers). Quantizers produce the same bytes and
 * dequantizers the same floats on every path; dot products agree within float rounding.
 * A caller may cap the level, e.g. to benchmark or cross-check the scalar reference.
 */
#ifndef LQ_SIMD_H
#define LQ_SIMD_H

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lq_simd_level {
    LQ_SIMD_SCALAR = 0,
    LQ_SIMD_AVX2 = 1,   /* AVX2 + FMA + F16C */
    LQ_SIMD_AVX512 = 2, /* AVX-512 F + BW + VL (AVX2 paths where no AVX-512 kernel exists) */
    LQ_SIMD_AMX = 3,    /* AVX-512 + AMX-TILE, -BF16, -INT8, enabled by the OS for this process
                         * (Linux: XCR0 and arch_prctl's tile-data permission); AVX-512
                         * paths where no AMX kernel exists */
};

/* Number of levels (the last one plus one), for arrays indexed by level. */
#define LQ_SIMD_LEVEL_COUNT (LQ_SIMD_AMX + 1)

/* Best level this CPU (and OS) supports; LQ_SIMD_SCALAR off x86-64. Thread-safe. */
LQ_API enum lq_simd_level lq_simd_level_supported(void);

/* Level the kernels use now: the supported one unless capped by lq_simd_level_set(). */
LQ_API enum lq_simd_level lq_simd_level_get(void);

/* Caps the level for the whole process. LQ_E_UNSUPPORTED when the CPU lacks `level`,
 * LQ_E_INVALID_ARG for an unknown value. Takes effect for kernels started afterwards; set it
 * before starting work on other threads. */
LQ_API lq_status lq_simd_level_set(enum lq_simd_level level, struct lq_error *err);

/* "scalar", "avx2", "avx512", "amx" ("unknown" otherwise). */
LQ_API const char *lq_simd_level_name(enum lq_simd_level level);

#ifdef __cplusplus
}
#endif
#endif /* LQ_SIMD_H */
