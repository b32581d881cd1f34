/*
 * mxfp4.h - MXFP4 (OCP microscaling FP4), internal; kernels in src/quants/mxfp4.c.
 *
 * 32 values share an E8M0 scale (a bare power of two, 2^(e - 127)); each value is an E2M1
 * float (sign, 2 exponent bits, 1 mantissa bit: 0, 0.5, 1, 1.5, 2, 3, 4, 6). ggml keeps the
 * E2M1 values doubled as int8 (lqi_mxfp4_levels) and halves the scale to match. 4.25 bits
 * per weight; llama.cpp ignores importance weights. The dot takes Q8_0 activations.
 */
#ifndef LQ_QUANTS_MXFP4_H
#define LQ_QUANTS_MXFP4_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QK_MXFP4 32
typedef struct {
    uint8_t e;                /* E8M0 scale exponent; 0xFF is NaN and refused */
    uint8_t qs[QK_MXFP4 / 2]; /* E2M1 codes: low nibble element j, high nibble j + 16 */
} block_mxfp4;
static_assert(sizeof(block_mxfp4) == 17, "block_mxfp4 must be 17 bytes");

/* 2 x the E2M1 value of each 4-bit code (a format constant: ggml's kvalues_mxfp4). */
extern const int8_t lqi_mxfp4_levels[16];

/* Half the E8M0 scale, 2^(e - 128), as ggml's GGML_E8M0_TO_FP32_HALF (e = 0 and 1 are
 * subnormal floats). */
static inline float lqi_e8m0_half(uint8_t e)
{
    union {
        uint32_t u;
        float f;
    } v = {.u = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23};
    return v.f;
}

void lqi_quantize_row_mxfp4_ref(const float *restrict x, void *restrict y, int64_t k);
void lqi_quantize_row_mxfp4(const float *restrict x, void *restrict y, int64_t k);
void lqi_dequantize_row_mxfp4(const void *restrict x, float *restrict y, int64_t k);
size_t lqi_quantize_mxfp4(const float *restrict src, void *restrict dst, int64_t nrow,
                          int64_t n_per_row, const float *imatrix);
bool lqi_validate_mxfp4(const void *data, size_t nbytes);
void lqi_vec_dot_mxfp4_q8_0(int64_t n, float *restrict s, const void *restrict x,
                            const void *restrict y);
void lqi_vec_dot_multi_mxfp4_q8_0(int64_t n, float *restrict s, const void *restrict x,
                                  const void *restrict y, size_t y_stride, int n_tok);

#endif /* LQ_QUANTS_MXFP4_H */
