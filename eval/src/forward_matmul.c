/* forward_matmul.c - matrix products on weights in their stored type.
 *
 * As llama.cpp's CPU backend (ggml_compute_forward_mul_mat): each activation row is
 * converted once to the weight type's vec_dot_type (Q8_0 / Q8_1 / Q8_K for quantized
 * weights) and every output element is one vec_dot of a weight row with that row. F16 and
 * BF16 weights take activations rounded to F16 / BF16 and multiply in F32 (exact products,
 * F32 sums), which is what ggml's F16/BF16 dot kernels compute. */
#include "forward_impl.h"

#include <omp.h>
#include <string.h>

#include "lq/fp16.h"

// ---- kernel selection ---------------------------------------------------------------------

bool lqi_weight_setup(struct lqi_weight *w)
{
    const struct lq_type_traits *t = lq_type_traits_get(w->type);
    if (!t || w->n_in % t->blck_size != 0) {
        return false;
    }
    w->row_size = lq_row_size(w->type, w->n_in);
    w->to_float = t->to_float;
    const struct lq_type_traits *at = t->vec_dot ? lq_type_traits_get(t->vec_dot_type) : NULL;
    if (at && (at->from_float || at->from_float_ref) && w->n_in % at->blck_size == 0) {
        w->kind = LQI_DOT_TABLE;
        w->act_type = t->vec_dot_type;
        w->vec_dot = t->vec_dot;
        w->vec_dot_multi = t->vec_dot_multi;
        return true;
    }
    w->act_type = LQ_TYPE_F32;
    switch (w->type) {
    case LQ_TYPE_F32:
        w->kind = LQI_DOT_F32;
        return true;
    case LQ_TYPE_F16:
        w->kind = LQI_DOT_F16;
        return true;
    case LQ_TYPE_BF16:
        w->kind = LQI_DOT_BF16;
        return true;
    default:
        w->kind = LQI_DOT_DEQUANT;
        return w->to_float != NULL;
    }
}

size_t lqi_acts_row_size(const struct lqi_weight *w, int64_t n_in)
{
    if (w->kind == LQI_DOT_TABLE) {
        return lq_row_size(w->act_type, n_in);
    }
    return (size_t)n_in * sizeof(float);
}

void lqi_weight_row(const struct lqi_weight *w, int64_t row, float *y)
{
    const unsigned char *src = w->data + (size_t)row * w->row_size;
    if (w->type == LQ_TYPE_F32) {
        memcpy(y, src, (size_t)w->n_in * sizeof(float));
    } else {
        w->to_float(src, y, w->n_in);
    }
}

// ---- activations --------------------------------------------------------------------------

void lqi_acts_invalidate(struct lqi_acts *a)
{
    a->src = NULL;
}

/* Rounds one row to F16 or BF16 and back: the values ggml's F16/BF16 dot would see. */
static void round_row(float *y, const float *x, int64_t n, enum lqi_dot_kind kind)
{
    for (int64_t i = 0; i < n; i++) {
        y[i] = kind == LQI_DOT_F16 ? lq_fp16_to_fp32(lq_fp32_to_fp16(x[i]))
                                   : lq_bf16_to_fp32(lq_fp32_to_bf16(x[i]));
    }
}

/* Converts the rows for the kernel's activation type into a->buf. */
static void convert_rows(struct lqi_acts *a, const struct lqi_weight *w, const float *x,
                         int64_t n_rows, int n_threads)
{
    const struct lq_type_traits *at = lq_type_traits_get(w->act_type);
    const enum lqi_dot_kind kind = a->kind;
    const int64_t n_in = w->n_in;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_rows * n_in >= 1 << 16)
    for (int64_t r = 0; r < n_rows; r++) {
        void *dst = a->buf + (size_t)r * a->row_size;
        if (kind == LQI_DOT_TABLE) {
            (at->from_float ? at->from_float : at->from_float_ref)(x + r * n_in, dst, n_in);
        } else {
            round_row(dst, x + r * n_in, n_in, kind);
        }
    }
}

void lqi_acts_prepare(struct lqi_acts *a, const struct lqi_weight *w, const float *x,
                      int64_t n_rows, int n_threads)
{
    const enum lqi_dot_kind kind = w->kind == LQI_DOT_DEQUANT ? LQI_DOT_F32 : w->kind;
    if (a->src == x && a->kind == kind && a->type == w->act_type && a->n_rows == n_rows &&
        a->n_in == w->n_in) {
        return;
    }
    a->src = x;
    a->kind = kind;
    a->type = w->act_type;
    a->n_rows = n_rows;
    a->n_in = w->n_in;
    a->row_size = lqi_acts_row_size(w, w->n_in);
    a->has_ilv = false;
    if (kind == LQI_DOT_F32) {
        a->data = (const unsigned char *)x;
    } else {
        convert_rows(a, w, x, n_rows, n_threads);
        a->data = a->buf;
    }
    if (kind != LQI_DOT_TABLE && n_rows >= 8 && lqi_ilv_supported()) {
        lqi_ilv_pack(a->ilv, a->data, a->row_size, n_rows, w->n_in);
        a->has_ilv = true;
    }
}

// ---- products -----------------------------------------------------------------------------

/* One weight row against every activation row, through the type table's dot kernel: up to
 * LQ_VEC_DOT_MULTI_MAX rows per call where the type has a multi-token kernel (which unpacks
 * each weight block once for them all and gives vec_dot's results bit for bit); a lone row
 * (decoding) takes vec_dot, which has no per-row bookkeeping to pay for. */
static void row_table(float *y, const struct lqi_weight *w, const struct lqi_acts *a, int64_t r)
{
    const void *wr = w->data + (size_t)r * w->row_size;
    const int64_t step = w->vec_dot_multi ? LQ_VEC_DOT_MULTI_MAX : 1;
    for (int64_t t = 0; t < a->n_rows; t += step) {
        const int n_tok = (int)(a->n_rows - t < step ? a->n_rows - t : step);
        const unsigned char *act = a->data + (size_t)t * a->row_size;
        float s[LQ_VEC_DOT_MULTI_MAX];
        if (n_tok > 1) {
            w->vec_dot_multi(w->n_in, s, wr, act, a->row_size, n_tok);
        } else {
            w->vec_dot(w->n_in, s, wr, act);
        }
        for (int k = 0; k < n_tok; k++) {
            y[(t + k) * w->n_out + r] = s[k];
        }
    }
}

/* Weight row r as F32: the stored row itself for F32, else converted into buf. */
static const float *float_row(const struct lqi_weight *w, int64_t r, float *buf)
{
    if (w->type == LQ_TYPE_F32) {
        return (const float *)(w->data + (size_t)r * w->row_size);
    }
    if (w->type == LQ_TYPE_F16) {
        lqi_f16_row_to_f32((const uint16_t *)(w->data + (size_t)r * w->row_size), buf, w->n_in);
    } else {
        lqi_weight_row(w, r, buf);
    }
    return buf;
}

/* Weight rows r0 .. r0 + nr - 1 (converted to F32 once) against activation rows ta .. tb - 1
 * (ta a multiple of 8): eight tokens at a time with the interleaved kernel when it applies,
 * then pairs of rows four tokens at a time, then single dots. All sum in lqi_dot_f32's
 * order, so the blocking never changes a result. */
static void rows_float(float *y, const struct lqi_weight *w, const struct lqi_acts *a, int64_t r0,
                       int64_t nr, int64_t ta, int64_t tb, float *buf)
{
    const float *wr[LQI_ROW_BLOCK];
    for (int64_t i = 0; i < nr; i++) {
        wr[i] = float_row(w, r0 + i, buf + i * w->n_in);
    }
    const int64_t n = w->n_in, no = w->n_out;
    const int64_t t0 = a->has_ilv && nr == LQI_ROW_BLOCK
                           ? lqi_dot_f32_ilv(y, no, r0, wr, a, ta / 8, tb / 8) * 8
                           : ta;
    const int64_t t4 = t0 + (tb - t0) / 4 * 4;
    for (int64_t p = 0; p + 2 <= nr; p += 2) {
        for (int64_t t = t0; t < t4; t += 4) {
            const float *x[4];
            for (int k = 0; k < 4; k++) {
                x[k] = (const float *)(a->data + (size_t)(t + k) * a->row_size);
            }
            float out[2][4];
            lqi_dot_f32_2x4(wr[p], wr[p + 1], x, n, out);
            for (int k = 0; k < 4; k++) {
                y[(t + k) * no + r0 + p] = out[0][k];
                y[(t + k) * no + r0 + p + 1] = out[1][k];
            }
        }
    }
    for (int64_t i = 0; i < nr; i++) {
        /* paired rows still need the tokens past t4; an unpaired last row needs all */
        for (int64_t t = i < nr / 2 * 2 ? t4 : t0; t < tb; t++) {
            const float *x = (const float *)(a->data + (size_t)t * a->row_size);
            y[t * no + r0 + i] = lqi_dot_f32(wr[i], x, n);
        }
    }
}

/* One thread's share of a float-kind product: its row blocks b0 .. b1 - 1 against tiles of
 * LQI_TOKEN_TILE tokens, tile by tile, so that the tile's activations stay in cache while
 * every row passes (weight rows are converted once per tile, which costs little next to
 * the tile's dots). */
static void blocks_float(float *y, const struct lqi_weight *w, const struct lqi_acts *a,
                         int64_t b0, int64_t b1, float *buf)
{
    for (int64_t ta = 0; ta < a->n_rows; ta += LQI_TOKEN_TILE) {
        const int64_t tb = a->n_rows - ta < LQI_TOKEN_TILE ? a->n_rows : ta + LQI_TOKEN_TILE;
        for (int64_t b = b0; b < b1; b++) {
            const int64_t r0 = b * LQI_ROW_BLOCK;
            const int64_t nr = w->n_out - r0 < LQI_ROW_BLOCK ? w->n_out - r0 : LQI_ROW_BLOCK;
            rows_float(y, w, a, r0, nr, ta, tb, buf);
        }
    }
}

void lqi_matmul(float *y, const struct lqi_weight *w, const struct lqi_acts *a, float *wrow,
                int n_threads)
{
    const int64_t n_out = w->n_out;
    const int64_t n_blk = (n_out + LQI_ROW_BLOCK - 1) / LQI_ROW_BLOCK;
    /* Below about a million multiply-adds a thread team costs more than it saves, and on a
     * busy machine every barrier can wait a whole scheduler slice. */
    const bool big = (double)n_out * (double)w->n_in * (double)a->n_rows >= (double)(1 << 20);
#pragma omp parallel num_threads(n_threads) if (big)
    {
        const int64_t nt = omp_get_num_threads(), it = omp_get_thread_num();
        const int64_t b0 = n_blk * it / nt;
        int64_t b1 = n_blk * (it + 1) / nt;
        float *mine = wrow + (size_t)it * LQI_ROW_BLOCK * (size_t)w->n_in;
        if (a->n_rows == 1) {
            /* one token (decoding): whole row blocks per thread, no conversion buffer */
            const int64_t r0 = b0 * LQI_ROW_BLOCK, r1 = b1 * LQI_ROW_BLOCK < n_out
                                                          ? b1 * LQI_ROW_BLOCK : n_out;
            lqi_gemv_rows(y + r0, w, a->data, r0, r1);
            b1 = b0;
        }
        if (w->kind != LQI_DOT_TABLE) {
            blocks_float(y, w, a, b0, b1, mine);
        }
        for (int64_t r = b0 * LQI_ROW_BLOCK; w->kind == LQI_DOT_TABLE && r < n_out &&
                                             r < b1 * LQI_ROW_BLOCK; r++) {
            row_table(y, w, a, r);
        }
    }
}
