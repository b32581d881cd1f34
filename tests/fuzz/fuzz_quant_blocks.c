/* fuzz_quant_blocks.c - arbitrary bytes as blocks of a quantized type: validation,
 * dequantization, the dot kernel, and re-quantization of whatever floats come out (NaN, Inf,
 * huge values included) must never crash or read out of bounds, on any SIMD level.
 * Input: byte 0 picks the type (among those libquant decodes), byte 1 the SIMD level, the
 * rest is block data (truncated to whole blocks, at most 64). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lq/quantize.h"
#include "lq/simd.h"
#include "lq/types.h"

static int pick_type(uint8_t sel)
{
    int eligible[LQ_TYPE_COUNT], n = 0;
    for (int t = 0; t < LQ_TYPE_COUNT; t++) {
        const struct lq_type_traits *tr = lq_type_traits_get(t);
        if (tr && tr->is_quantized && tr->to_float) {
            eligible[n++] = t;
        }
    }
    return n ? eligible[sel % n] : -1;
}

/* Dot of the blocks against a fixed activation row, if the type has a kernel. */
static void run_dot(int type, const void *x, int64_t n)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    float *act = malloc(sizeof(float) * (size_t)n);
    void *y = malloc(lq_row_size((int)t->vec_dot_type, n) + 1);
    if (t->vec_dot && act && y) {
        for (int64_t i = 0; i < n; i++) {
            act[i] = (float)((i % 13) - 6) * 0.25f;
        }
        float out;
        if (lq_quantize_activation((int)t->vec_dot_type, act, y, n, NULL) == LQ_OK) {
            lq_vec_dot(type, n, x, y, &out, NULL);
        }
    }
    free(act);
    free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    int type = pick_type(data[0]);
    const struct lq_type_traits *t = lq_type_traits_get(type);
    if (!t) {
        return 0;
    }
    enum lq_simd_level saved = lq_simd_level_get();
    lq_simd_level_set((enum lq_simd_level)(data[1] % (lq_simd_level_supported() + 1)), NULL);
    size_t nblk = (size_t)(size - 2) / t->type_size;
    nblk = nblk > 64 ? 64 : nblk;
    const int64_t n = (int64_t)nblk * t->blck_size;
    size_t bytes = nblk * t->type_size;
    unsigned char *q = malloc(bytes ? bytes : 1);
    float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (q && f && nblk) {
        memcpy(q, data + 2, bytes);
        lq_validate_row_data(type, q, bytes);
        lq_dequantize_rows(type, q, f, n, NULL);
        run_dot(type, q, n);
        struct lq_quantize_params p = lq_quantize_params_default();
        p.allow_nonfinite = true;
        lq_quantize_rows(type, f, 1, n, q, bytes, &p, NULL, NULL);
        p.allow_nonfinite = false;
        lq_quantize_rows(type, f, 1, n, q, bytes, &p, NULL, NULL);
    }
    free(q);
    free(f);
    lq_simd_level_set(saved, NULL);
    return 0;
}
