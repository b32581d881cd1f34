/*
 * quant_common.h - numeric helpers shared by the quantizers, exact copies (in behaviour, down
 * to float evaluation order) of ggml-quants.c's helpers, because llama.cpp's bytes depend on
 * every rounding step. Compile with -ffp-contract=off: a fused multiply-add would change them.
 */
#ifndef LQ_QUANTS_QUANT_COMMON_H
#define LQ_QUANTS_QUANT_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ggml's threshold below which a group counts as all zeros. */
#define LQI_GROUP_MAX_EPS 1e-15f

#define LQI_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LQI_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Round to nearest, ties to even, for |fval| <= 4194303: adding 1.5 * 2^23 pushes the value
 * into the binade where the float's ulp is 1, so the FPU's own rounding does the work and the
 * integer sits in the low mantissa bits. Out-of-range or NaN input gives a meaningless (but
 * defined) result, which only non-finite rows can reach. */
static inline int lqi_nearest_int(float fval)
{
    float val = fval + 12582912.f;
    int32_t i;
    memcpy(&i, &val, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Float -> int8_t / uint8_t as C's cast truncates, with the value x86-64 code gives for
 * NaN or out-of-range input (0, the low byte of cvttss2si's 0x80000000) instead of undefined
 * behaviour: rows with NaN/Inf come out as llama.cpp's do. */
static inline int8_t lqi_f2i8(float v)
{
    return (v > -129.0f && v < 128.0f) ? (int8_t)v : (int8_t)0;
}

static inline uint8_t lqi_f2u8(float v)
{
    return (v > -1.0f && v < 256.0f) ? (uint8_t)v : (uint8_t)0;
}

/* Symmetric quantization of n values to L[i] in 0..2*nmax-1 (stored value l + nmax), scale
 * returned. rmse_type 0: plain max-based scale; otherwise a weighted least-squares refit over
 * 18 trial scales, weights qw if given, else x^2 (1), 1 (2), |x| (3) or sqrt|x| (4);
 * a negative rmse_type returns after the first refit. ggml's make_qx_quants. */
float lqi_make_qx_quants(int n, int nmax, const float *restrict x, int8_t *restrict L,
                         int rmse_type, const float *restrict qw);

/* Affine quantization (scale and non-positive min) of n values to L[i] in 0..nmax with a
 * weighted search over nstep+1 trial scales; *the_min receives -min. Laux is n bytes of
 * scratch. ggml's make_qkx2_quants (weights required). */
float lqi_make_qkx2_quants(int n, int nmax, const float *restrict x, const float *restrict weights,
                           uint8_t *restrict L, float *restrict the_min, uint8_t *restrict Laux,
                           float rmin, float rdelta, int nstep, bool use_mad);

/* As lqi_make_qkx2_quants, with weights x^2 when weights is NULL and guards against a fitted
 * min at or past max. ggml's make_qkx3_quants. */
float lqi_make_qkx3_quants(int n, int nmax, const float *restrict x, const float *restrict weights,
                           uint8_t *restrict L, float *restrict the_min, uint8_t *restrict Laux,
                           float rmin, float rdelta, int nstep, bool use_mad);

/* sigma2 of llama.cpp's importance-weighted legacy quantizers: mean of x^2 over the row,
 * accumulated in float in index order. */
float lqi_row_sigma2(const float *x, int64_t n);

/* weight[j] = qw[j] * sqrt(sigma2 + x[j]^2) for one block of n values. */
void lqi_block_weights(const float *restrict x, const float *restrict qw, float sigma2, int n,
                       float *restrict weight);

/* Packs 32 five-bit levels as Q5_0/Q5_1 store them: element j and j + 16 share byte j of
 * qs (low nibbles), bit j of the little-endian 32-bit qh holds element j's fifth bit. */
static inline void lqi_q5_pack(const uint8_t *restrict L, uint8_t *restrict qs,
                               uint8_t *restrict qh_out)
{
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        qs[j] = (uint8_t)((L[j] & 0x0F) | ((L[j + 16] & 0x0F) << 4));
        qh |= ((L[j] & 0x10u) >> 4) << j;
        qh |= ((L[j + 16] & 0x10u) >> 4) << (j + 16);
    }
    for (int b = 0; b < 4; b++) {
        qh_out[b] = (uint8_t)(qh >> (8 * b));
    }
}

static inline uint32_t lqi_q5_high_bits(const uint8_t qh[4])
{
    return (uint32_t)qh[0] | ((uint32_t)qh[1] << 8) | ((uint32_t)qh[2] << 16) |
           ((uint32_t)qh[3] << 24);
}

/* True when none of the first nf16 fp16 fields of any block (stride type_size) is NaN/Inf
 * and nbytes is a whole number of blocks: ggml_validate_row_data for the block types. */
bool lqi_validate_f16_fields(const void *data, size_t nbytes, size_t type_size, int nf16);

/* Row quantizer with importance weights qw (n_per_row of them). */
typedef void (*lqi_row_impl_fn)(const float *restrict x, void *restrict y, int64_t n_per_row,
                                const float *restrict qw);

/* ggml's quantize_<type>: the reference quantizer over all rows when imatrix is NULL, else
 * impl row by row. Returns nrow * row_size. */
size_t lqi_quantize_rows_impl(void (*ref)(const float *restrict, void *restrict, int64_t),
                              lqi_row_impl_fn impl, size_t row_size, const float *restrict src,
                              void *restrict dst, int64_t nrow, int64_t n_per_row,
                              const float *imatrix);

#endif /* LQ_QUANTS_QUANT_COMMON_H */
