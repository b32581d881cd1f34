/* forward_gemm.c - packing, kernel choice and the portable tile kernel of the batched
 * product (forward_gemm.h); the SIMD tile kernels are in forward_gemm_x86.c. */
#include "forward_gemm.h"

#include <string.h>

#include "lq/fp16.h"
#include "lq/simd.h"
#include "lq/types.h"

/* Portable kernel: 4 tokens x 16 rows, plain C the compiler may vectorise. */
#define SCALAR_MR 4
#define SCALAR_NR 16

static void tile_scalar(int64_t kc, const float *xp, const float *wp, float *c, int64_t ldc,
                        int m, int n, bool accumulate)
{
    float acc[SCALAR_MR][SCALAR_NR] = { { 0 } };
    for (int64_t k = 0; k < kc; k++) {
        const float *x = xp + k * SCALAR_MR, *w = wp + k * SCALAR_NR;
        for (int i = 0; i < SCALAR_MR; i++) {
            for (int j = 0; j < SCALAR_NR; j++) {
                acc[i][j] += x[i] * w[j];
            }
        }
    }
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
        }
    }
}

static const struct lqi_gemm_kernel scalar_kernel = { SCALAR_MR, SCALAR_NR, LQI_GEMM_F32,
                                                      tile_scalar, NULL, NULL, "scalar" };

void lqi_gemm_panel_plain(float *wp, const float *tmp, int nr, int nv, int64_t kc)
{
    for (int64_t k = 0; k < kc; k++) {
        float *d = wp + k * nr;
        for (int j = 0; j < nv; j++) {
            d[j] = tmp[j * LQI_GEMM_KC + k];
        }
        for (int j = nv; j < nr; j++) {
            d[j] = 0.0f;
        }
    }
}

const struct lqi_gemm_kernel *lqi_gemm_kernel(void)
{
    const enum lq_simd_level level = lq_simd_level_get();
    const struct lqi_gemm_kernel *k = NULL;
    if (level >= LQ_SIMD_AVX512) {
        k = lqi_gemm_kernel_avx512();
    }
    if (!k && level >= LQ_SIMD_AVX2) {
        k = lqi_gemm_kernel_avx2();
    }
    return k ? k : &scalar_kernel;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_bf16(int64_t n_in)
{
    const enum lq_simd_level level = lq_simd_level_get();
    if (level >= LQ_SIMD_AMX && n_in % 32 == 0) { /* whole tiles of 16 pairs per chunk */
        return lqi_gemm_kernel_amx_bf16();
    }
    return level >= LQ_SIMD_AVX512 ? lqi_gemm_kernel_avx512_bf16() : NULL;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_quant(int type, int act_type)
{
    const enum lq_simd_level level = lq_simd_level_get();
    const struct lqi_gemm_kernel *k = NULL;
    if (level >= LQ_SIMD_AMX) {
        k = lqi_gemm_kernel_amx_quant(type, act_type);
    }
    if (!k && level >= LQ_SIMD_AVX512) {
        if (type == LQ_TYPE_Q4_0 && act_type == LQ_TYPE_Q8_0) {
            k = lqi_gemm_kernel_avx512_q4_0();
        } else if (type == LQ_TYPE_Q4_K && act_type == LQ_TYPE_Q8_K) {
            k = lqi_gemm_kernel_avx512_q4_k();
        }
    }
    return k;
}

int64_t lqi_gemm_pack_floats(int64_t n_rows, int64_t n_in)
{
    /* every kernel's mr divides a multiple of itself below n_rows + mr_max */
    return (n_rows + LQI_GEMM_MR_MAX) * n_in;
}

void lqi_gemm_pack_row(float *pack, const struct lqi_gemm_kernel *k, int64_t n_in, int64_t r,
                       const float *row)
{
    const int64_t mr = k->mr;
    float *dst = pack + r / mr * mr * n_in + r % mr;
    for (int64_t i = 0; i < n_in; i++) {
        dst[i * mr] = row[i];
    }
}

void lqi_gemm_pack_row_bf16(float *pack, const struct lqi_gemm_kernel *k, int64_t n_in,
                            int64_t r, const uint16_t *row)
{
    const int64_t mr = k->mr;
    if (k->format == LQI_GEMM_BF16_TOKENS) {
        uint16_t *tile = (uint16_t *)(void *)pack + r / mr * mr * n_in;
        for (int64_t k0 = 0; k0 < n_in; k0 += LQI_GEMM_KC) {
            const int64_t kc = n_in - k0 < LQI_GEMM_KC ? n_in - k0 : LQI_GEMM_KC;
            memcpy(tile + k0 * mr + r % mr * kc, row + k0, (size_t)kc * sizeof(uint16_t));
        }
        return;
    }
    uint32_t *dst = (uint32_t *)(void *)pack + r / mr * mr * (n_in / 2) + r % mr;
    for (int64_t p = 0; p < n_in / 2; p++) {
        dst[p * mr] = (uint32_t)row[2 * p] | (uint32_t)row[2 * p + 1] << 16;
    }
}

void lqi_gemm_pack_row_q8(float *pack, const struct lqi_gemm_kernel *k, int64_t n_in, int64_t r,
                          const unsigned char *row)
{
    const int64_t mr = k->mr, i = r % mr;
    const bool q8_k = k->format == LQI_GEMM_Q4_K_Q8 || k->format == LQI_GEMM_AMX_Q8_K;
    const bool amx = k->format == LQI_GEMM_AMX_Q8_0 || k->format == LQI_GEMM_AMX_Q8_K;
    uint32_t *tile = (uint32_t *)(void *)pack + r / mr * mr * (n_in / 32) * LQI_GEMM_Q8_WORDS;
    for (int64_t b = 0; b < n_in / 32; b++) {
        float scale;
        const unsigned char *q;
        if (q8_k) { /* block_q8_K: float scale, 256 int8, 16 int16 sums */
            const unsigned char *blk = row + b / 8 * 292;
            memcpy(&scale, blk, 4);
            q = blk + 4 + b % 8 * 32;
        } else { /* block_q8_0: F16 scale, 32 int8 */
            const unsigned char *blk = row + b * 34;
            uint16_t h;
            memcpy(&h, blk, 2);
            scale = lq_fp16_to_fp32(h);
            q = blk + 2;
        }
        uint32_t *d = tile + b * mr * LQI_GEMM_Q8_WORDS;
        int32_t sum = 0;
        for (int g = 0; g < 8; g++) {
            memcpy(amx ? &d[i * 8 + g] : &d[g * mr + i], q + 4 * g, 4);
            for (int e = 0; e < 4; e++) {
                sum += (int8_t)q[4 * g + e];
            }
        }
        memcpy(&d[8 * mr + i], &scale, 4);
        if (k->format == LQI_GEMM_AMX_Q8_K) { /* its kernels want scale * sum (k-quant mins) */
            const float scaled = scale * (float)sum;
            memcpy(&d[9 * mr + i], &scaled, 4);
        } else {
            memcpy(&d[9 * mr + i], &sum, 4);
        }
    }
}
