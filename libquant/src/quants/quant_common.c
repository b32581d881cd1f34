/* quant_common.c - helpers of the 32-element block quantizers (importance weights as
 * llama.cpp's legacy _impl functions compute them, the row driver of quantize_<type>). */
#include "quants/quant_common.h"

#include <math.h>

// ---- importance weights of the legacy types ---------------------------------------------

float lqi_row_sigma2(const float *x, int64_t n)
{
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) {
        sum_x2 += x[j] * x[j];
    }
    return sum_x2 / n;
}

void lqi_block_weights(const float *restrict x, const float *restrict qw, float sigma2, int n,
                       float *restrict weight)
{
    for (int j = 0; j < n; ++j) {
        weight[j] = qw[j] * sqrtf(sigma2 + x[j] * x[j]);
    }
}

// ---- row driver ---------------------------------------------------------

size_t lqi_quantize_rows_impl(void (*ref)(const float *restrict, void *restrict, int64_t),
                              lqi_row_impl_fn impl, size_t row_size, const float *restrict src,
                              void *restrict dst, int64_t nrow, int64_t n_per_row,
                              const float *imatrix)
{
    if (!imatrix) {
        ref(src, dst, nrow * n_per_row);
        return (size_t)nrow * row_size;
    }
    char *qrow = dst;
    for (int64_t row = 0; row < nrow; ++row) {
        impl(src + row * n_per_row, qrow + (size_t)row * row_size, n_per_row, imatrix);
    }
    return (size_t)nrow * row_size;
}
