/*
 * An installed-libquant consumer: quantizes a float array to Q4_K, decodes it and checks the
 * round trip's relative RMSE against Q4_K's bound (the one tests/unit/test_quants.c uses).
 * Exit 0 when it holds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lq/quantize.h"

enum { NROW = 8, NCOL = 1024 };

/* Roughly unit-normal values from a fixed LCG (sum of four uniforms, rescaled). */
static void fill(float *x, int64_t n)
{
    uint32_t s = 12345;
    for (int64_t i = 0; i < n; i++) {
        double u = 0;
        for (int k = 0; k < 4; k++) {
            s = s * 1664525u + 1013904223u;
            u += (s >> 8) / 16777216.0;
        }
        x[i] = (float)((u - 2.0) * sqrt(3.0));
    }
}

int main(void)
{
    struct lq_error err = {0};
    int rc = 1;
    size_t size = NROW * lq_row_size(LQ_TYPE_Q4_K, NCOL), written = 0;
    float *x = malloc(sizeof(float) * NROW * NCOL);
    float *y = malloc(sizeof(float) * NROW * NCOL);
    void *q = malloc(size);
    if (!x || !y || !q) {
        fprintf(stderr, "q4k_roundtrip: out of memory\n");
        goto out_free;
    }
    if (lq_version_number() != LQ_VERSION_NUMBER) {
        fprintf(stderr, "q4k_roundtrip: header %d, library %u\n", LQ_VERSION_NUMBER,
                lq_version_number());
        goto out_free;
    }
    fill(x, NROW * NCOL);
    if (lq_quantize_rows(LQ_TYPE_Q4_K, x, NROW, NCOL, q, size, NULL, &written, &err) != LQ_OK ||
        lq_dequantize_rows(LQ_TYPE_Q4_K, q, y, NROW * NCOL, &err) != LQ_OK) {
        fprintf(stderr, "q4k_roundtrip: %s\n", err.msg);
        goto out_free;
    }
    struct lq_quant_stats st;
    lq_quant_stats_init(&st);
    lq_quant_stats_add(&st, x, y, NROW * NCOL);
    double bound = 3.0 * pow(2.0, -(lq_type_bpw(LQ_TYPE_Q4_K) - 1.0));
    printf("q4k_roundtrip: libquant %s, %zu bytes (%.2f bpw), rel_rmse %.5f (bound %.5f)\n",
           lq_version_string(), written, lq_type_bpw(LQ_TYPE_Q4_K), st.rel_rmse, bound);
    rc = written == size && st.rel_rmse > 0 && st.rel_rmse < bound ? 0 : 1;
out_free:
    free(q);
    free(y);
    free(x);
    return rc;
}
