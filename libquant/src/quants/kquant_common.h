/*
 * kquant_common.h - helpers shared by the k-quant kernels (lqi_ prefix, internal).
 *
 * The scale searches are ports of llama.cpp's ggml-quants.c helpers. Output bytes depend on
 * every float operation, so each one keeps ggml's operation order; the library is built with
 * -ffp-contract=off so no multiply-add is ever fused behind our back.
 */
#ifndef LQ_KQUANT_COMMON_H
#define LQ_KQUANT_COMMON_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "quants/kblocks.h"

/* Groups whose largest magnitude is below this are treated as all zero (ggml's value). */
#define LQI_GROUP_MAX_EPS 1e-15f

#define LQI_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LQI_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Rounds to nearest, ties to even, by adding 1.5 * 2^23 and reading the low mantissa bits:
 * exact for |fval| <= 4194303 (ggml's nearest_int). Any other input, NaN included, gives
 * some int without undefined behaviour. */
static inline int lqi_nearest_int(float fval)
{
    float val = fval + 12582912.f;
    int32_t i;
    memcpy(&i, &val, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* The first of x[0..n) with the largest magnitude (0 when all are zero or NaN); *amax gets
 * that magnitude. The scans of ggml's symmetric quantizers, whose scale keeps its sign. */
static inline float lqi_signed_absmax(const float *x, int n, float *amax)
{
    float max = 0, am = 0;
    for (int i = 0; i < n; ++i) {
        float ax = fabsf(x[i]);
        if (ax > am) {
            am = ax;
            max = x[i];
        }
    }
    *amax = am;
    return max;
}

/* Symmetric scale for n values into [-nmax, nmax - 1] (stored as L + nmax); rmse_type picks
 * the error weights when qw is NULL (1: x^2, 2: 1, 3: |x|, else sqrt|x|); a negative
 * rmse_type returns after the first refit. Returns the scale. */
float lqi_make_qx_quants(int n, int nmax, const float *restrict x, int8_t *restrict L,
                         int rmse_type, const float *restrict qw);

/* Q3_K's symmetric search with x^2 weights and coordinate refinement. */
float lqi_make_q3_quants(int n, int nmax, const float *restrict x, int8_t *restrict L,
                         bool do_rmse);

/* Scale and min for n values into [0, nmax]: scans nstep + 1 candidate scales
 * (rmin + rdelta * is + nmax) / (max - min), refitting scale and min by weighted least
 * squares; *the_min receives -min. Returns the scale. */
float lqi_make_qkx2_quants(int n, int nmax, const float *restrict x, const float *restrict weights,
                           uint8_t *restrict L, float *restrict the_min, uint8_t *restrict Laux,
                           float rmin, float rdelta, int nstep, bool use_mad);

/* As make_qkx2_quants, for the importance-weighted paths (weights NULL means x^2). */
float lqi_make_qkx3_quants(int n, int nmax, const float *restrict x, const float *restrict weights,
                           uint8_t *restrict L, float *restrict the_min, uint8_t *restrict Laux,
                           float rmin, float rdelta, int nstep, bool use_mad);

/* Positive scale for n non-negative values into [0, nmax] under weights quant_weights. */
float lqi_make_qp_quants(int n, int nmax, const float *restrict x, uint8_t *restrict L,
                         const float *restrict quant_weights);

/* The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes of q4_K/q5_K. */
static inline void lqi_get_scale_min_k4(int j, const uint8_t *restrict q, uint8_t *restrict d,
                                        uint8_t *restrict m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

/* The eight 6-bit scales of q4_K/q5_K as the scale of each group of 16 (sc16, two each),
 * and the integer sum of the mins times the Q8_K activation sums (the dot's min term). */
static inline int lqi_qk_k4_scales(const uint8_t q[K_SCALE_SIZE], const int16_t bsums[16],
                                   int16_t sc16[16])
{
    int summ = 0;
    for (int g = 0; g < 8; ++g) {
        uint8_t sc, m;
        lqi_get_scale_min_k4(g, q, &sc, &m);
        sc16[2 * g] = sc16[2 * g + 1] = sc;
        summ += m * (bsums[2 * g] + bsums[2 * g + 1]);
    }
    return summ;
}

/* Packs eight 6-bit scales and mins into the 12 bytes read by lqi_get_scale_min_k4. */
void lqi_pack_scale_min_k4(const uint8_t ls[8], const uint8_t lm[8], uint8_t q[K_SCALE_SIZE]);

/* The sixteen 6-bit q3_K scales, unpacked (0..63, before the -32 offset). */
void lqi_unpack_q3_K_scales(const uint8_t packed[12], int8_t out[16]);

/* Sum of squares of the 256 values of a super-block (the sigma2 of the imatrix paths). */
float lqi_sum_x2_qk(const float *x);

/* Quantizes one super-block (QK_K values) into the block at y; qw holds its QK_K importance
 * weights on the imatrix path and is NULL on the reference path. */
typedef void (*lqi_qk_block_fn)(const float *x, void *y, const float *qw);

/* quantize_row_T_ref: block(x, y, NULL) over the k / QK_K blocks of type_size bytes. */
void lqi_qk_quantize_ref(lqi_qk_block_fn block, size_t type_size, const float *x, void *y,
                         int64_t k);

/* llama.cpp's quantize_T: the reference blocks over all rows without an imatrix, else impl
 * with each block's slice of the imatrix (n_per_row weights, the same for every row).
 * Returns the bytes written. */
size_t lqi_qk_quantize_rows(lqi_qk_block_fn ref, lqi_qk_block_fn impl, size_t type_size,
                            const float *src, void *dst, int64_t nrow, int64_t n_per_row,
                            const float *imatrix);

/* Q4_K's and Q5_K's reference search: per 32-value sub-block, weights av_x + |x| (av_x its
 * RMS) and make_qkx2_quants into [0, nmax] with (rmin, 0.1, nstep); then scales and mins to
 * 6 bits of their maxima, packed into scales[], and the two maxima / 63 as fp16 *d, *dmin.
 * L receives the search's levels. */
void lqi_qk_scale_min_ref(const float *x, int nmax, float rmin, int nstep, uint8_t L[QK_K],
                          uint8_t scales[K_SCALE_SIZE], uint16_t *d, uint16_t *dmin);

/* The same on the imatrix path: weights qw * sqrt(sigma2 + x^2) with sigma2 = 2 <x^2>,
 * make_qkx3_quants (-0.9, 0.05, 36), then scales and mins to 6 bits by make_qp_quants
 * weighted by each sub-block's weight sum; clamp63 clamps them to 63 (ggml does for Q5_K). */
void lqi_qk_scale_min_impl(const float *x, const float *qw, int nmax, bool clamp63, uint8_t L[QK_K],
                           uint8_t scales[K_SCALE_SIZE], uint16_t *d, uint16_t *dmin);

/* Final levels in [0, nmax] of the sub-blocks whose stored scale is not zero, from the
 * stored (fp16-rounded, 6-bit) scales and mins: L = round((x + dmin*m) / (d*sc)). */
void lqi_qk_requantize_k4(const float *x, const uint8_t scales[K_SCALE_SIZE], uint16_t d,
                          uint16_t dmin, int nmax, uint8_t L[QK_K]);

/* ggml's generic dot step for one super-block: the 256 signed quants aux8 times the
 * activations q8 in eight int32 lanes, each group of 16 weighted by sc16, then added to
 * sums[] times d. */
void lqi_qk_dot_lanes(const int8_t aux8[QK_K], const int16_t sc16[16], const int8_t *q8, float d,
                      float sums[8]);

/* ggml_validate_row_data for fp16-scaled blocks: nbytes must be whole blocks of type_size
 * and the fp16 at byte offset off_d (and off_dmin, unless negative) of every block must be
 * finite. Reads bytes, so any alignment is fine. */
bool lqi_validate_f16_scales(const void *data, size_t nbytes, size_t type_size, int off_d,
                             int off_dmin);

#endif /* LQ_KQUANT_COMMON_H */
