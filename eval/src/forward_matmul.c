/* forward_matmul.c - matrix products on weights in their stored type.
 *
 * Every product multiplies the values llama.cpp's CPU backend multiplies: activations are
 * converted to the weight type's vec_dot_type (Q8_0 / Q8_1 / Q8_K for quantized weights,
 * F16 / BF16 for those weights, F32 otherwise) in one explicit step (lqi_acts_convert) that
 * the products sharing an input reuse. Then:
 * - a batch of LQI_GEMM_MIN_ROWS rows or more (prompt processing) takes the tiled F32 GEMM
 *   (forward_gemm.h): the converted activations decoded back to floats and packed, the weight
 *   decoded chunk by chunk. The products are the same real numbers as ggml's integer and F16
 *   dots; only the float rounding of the sums differs.
 * - fewer rows (decoding) take lqi_gemv_rows (forward_gemv.c), kernels that stream the
 *   weights at read speed, token by token; a few tokens of a type with a multi-token dot
 *   kernel take that instead (each weight block unpacked once, the same results). */
#include "forward_impl.h"

#include <omp.h>
#include <string.h>

#include "lq/fp16.h"

// ---- kernel selection ---------------------------------------------------------------------

bool lqi_weight_setup(struct lqi_weight *w)
{
    const struct lq_type_traits *t = lq_type_traits_get(w->type);
    if (!t || w->n_in % t->blck_size != 0 || LQI_GEMM_KC % t->blck_size != 0) {
        return false;
    }
    w->row_size = lq_row_size(w->type, w->n_in);
    w->to_float = t->to_float;
    const struct lq_type_traits *at = t->vec_dot ? lq_type_traits_get(t->vec_dot_type) : NULL;
    if (at && (at->from_float || at->from_float_ref) && at->to_float &&
        w->n_in % at->blck_size == 0) {
        w->kind = LQI_DOT_TABLE;
        w->act_type = t->vec_dot_type;
        w->vec_dot = t->vec_dot;
        w->vec_dot_multi = t->vec_dot_multi;
        w->vec_dot_rows = t->vec_dot_rows;
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

/* The conversion a weight's kernel takes (dequantized weights take plain F32). */
static enum lqi_dot_kind acts_kind(const struct lqi_weight *w)
{
    return w->kind == LQI_DOT_DEQUANT ? LQI_DOT_F32 : w->kind;
}

static const struct lqi_gemm_kernel *gemm_kernel(const struct lqi_weight *w);

bool lqi_acts_fit(const struct lqi_acts *a, const struct lqi_weight *w)
{
    const enum lqi_dot_kind kind = acts_kind(w);
    return a->kind == kind && a->n_in == w->n_in &&
           (kind != LQI_DOT_TABLE || a->type == w->act_type) &&
           (!a->packed || a->kernel == gemm_kernel(w)); /* packed for the same kernel */
}

/* Rounds one row to F16 or BF16 and back: the values ggml's F16/BF16 dot would see. */
static void round_row(float *y, const float *x, int64_t n, enum lqi_dot_kind kind)
{
    uint16_t h[256];
    for (int64_t i = 0; i < n; i += 256) {
        const int64_t c = n - i < 256 ? n - i : 256;
        if (kind == LQI_DOT_F16) {
            lq_fp32_to_fp16_row(x + i, h, c);
            lq_fp16_to_fp32_row(h, y + i, c);
        } else {
            lq_fp32_to_bf16_row(x + i, h, c);
            lq_bf16_to_fp32_row(h, y + i, c);
        }
    }
}

/* Row r converted for the kernel: the vec_dot type's bytes into a->buf, or F16/BF16-rounded
 * floats; with `tmp`, also decoded back to floats there (what the GEMM packs). Returns the
 * row as floats (NULL for a table row without tmp). */
static const float *convert_row(struct lqi_acts *a, const float *x, int64_t r, float *tmp)
{
    const float *row = x + r * a->n_in;
    if (a->kind == LQI_DOT_TABLE) {
        const struct lq_type_traits *at = lq_type_traits_get(a->type);
        unsigned char *dst = a->buf + (size_t)r * a->row_size;
        (at->from_float ? at->from_float : at->from_float_ref)(row, dst, a->n_in);
        if (!tmp) {
            return NULL;
        }
        at->to_float(dst, tmp, a->n_in);
        return tmp;
    }
    if (a->kind == LQI_DOT_F32) {
        return row;
    }
    float *dst = tmp ? tmp : (float *)(void *)(a->buf + (size_t)r * a->row_size);
    round_row(dst, row, a->n_in, a->kind);
    return dst;
}

/* The tile kernel for weight w's batched products: the BF16 pair kernel or the Q4_0 / Q4_K
 * integer kernels where the CPU has them, else the F32 kernel of the level in force. */
static const struct lqi_gemm_kernel *gemm_kernel(const struct lqi_weight *w)
{
    const struct lqi_gemm_kernel *k = NULL;
    if (w->kind == LQI_DOT_BF16 && w->n_in % 2 == 0) {
        k = lqi_gemm_kernel_bf16(w->n_in);
    } else if (w->kind == LQI_DOT_TABLE) {
        k = lqi_gemm_kernel_quant(w->type, w->act_type);
    }
    return k ? k : lqi_gemm_kernel();
}

/* Row r into the pack: as BF16 bits for a pair kernel (the rounding ggml's BF16 dot sees), as
 * Q8_0 / Q8_K blocks for the integer kernels, else converted for the kernel and decoded back to
 * floats in tmp. */
static void pack_row(struct lqi_acts *a, const float *x, int64_t r, float *tmp)
{
    switch (a->kernel->format) {
    case LQI_GEMM_BF16X2:
    case LQI_GEMM_BF16_TOKENS: {
        uint16_t *h = (uint16_t *)(void *)tmp;
        lq_fp32_to_bf16_row(x + r * a->n_in, h, a->n_in);
        lqi_gemm_pack_row_bf16(a->pack, a->kernel, a->n_in, r, h);
        return;
    }
    case LQI_GEMM_Q4_0_Q8:
    case LQI_GEMM_Q4_K_Q8:
    case LQI_GEMM_AMX_Q8_0:
    case LQI_GEMM_AMX_Q8_K:
        convert_row(a, x, r, NULL);
        lqi_gemm_pack_row_q8(a->pack, a->kernel, a->n_in, r, a->buf + (size_t)r * a->row_size);
        return;
    case LQI_GEMM_F32:
        break;
    }
    lqi_gemm_pack_row(a->pack, a->kernel, a->n_in, r, convert_row(a, x, r, tmp));
}

/* A zero row (all formats read zeros from a zeroed buffer of n_in floats) as row r. */
static void pack_zero_row(struct lqi_acts *a, int64_t r, const float *zeros)
{
    switch (a->kernel->format) {
    case LQI_GEMM_BF16X2:
    case LQI_GEMM_BF16_TOKENS:
        lqi_gemm_pack_row_bf16(a->pack, a->kernel, a->n_in, r, (const uint16_t *)zeros);
        return;
    case LQI_GEMM_Q4_0_Q8:
    case LQI_GEMM_Q4_K_Q8:
    case LQI_GEMM_AMX_Q8_0:
    case LQI_GEMM_AMX_Q8_K:
        lqi_gemm_pack_row_q8(a->pack, a->kernel, a->n_in, r, (const unsigned char *)zeros);
        return;
    case LQI_GEMM_F32:
        break;
    }
    lqi_gemm_pack_row(a->pack, a->kernel, a->n_in, r, zeros);
}

void lqi_acts_convert(struct lqi_acts *a, const struct lqi_weight *w, const float *x,
                      int64_t n_rows, int n_threads)
{
    a->kind = acts_kind(w);
    a->type = w->act_type;
    a->n_rows = n_rows;
    a->n_in = w->n_in;
    a->row_size = lqi_acts_row_size(w, w->n_in);
    a->packed = n_rows >= LQI_GEMM_MIN_ROWS;
    a->kernel = gemm_kernel(w);
    a->data = a->kind == LQI_DOT_F32 ? (const unsigned char *)x : a->buf;
    const int64_t n_in = a->n_in;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_rows * n_in >= 1 << 16)
    for (int64_t r = 0; r < n_rows; r++) {
        if (a->packed) {
            pack_row(a, x, r, a->scratch + (size_t)omp_get_thread_num() * a->scratch_stride);
        } else {
            convert_row(a, x, r, NULL);
        }
    }
    if (a->packed) { /* the last tile's unused rows: zeros, never stored */
        const int64_t mr = a->kernel->mr, r1 = (n_rows + mr - 1) / mr * mr;
        memset(a->scratch, 0, (size_t)n_in * sizeof(float));
        for (int64_t r = n_rows; r < r1; r++) {
            pack_zero_row(a, r, a->scratch);
        }
    }
}

// ---- batched products: the GEMM -----------------------------------------------------------

/* Weight rows r0 .. r0 + nv - 1, elements k0 .. k0 + kc - 1, decoded into the kernel's
 * panel wp (k-major, nr floats per element; rows past nv zero); tmp holds the decoded rows. */
static void pack_weight(float *wp, float *tmp, const struct lqi_weight *w,
                        const struct lqi_gemm_kernel *kn, int64_t r0, int nv, int64_t k0,
                        int64_t kc)
{
    const size_t off = lq_row_size(w->type, k0);
    if (kn->format != LQI_GEMM_F32) {
        kn->panel_raw((uint32_t *)(void *)wp, w->data + (size_t)r0 * w->row_size + off,
                       w->row_size, nv, kc);
        return;
    }
    for (int j = 0; j < nv; j++) {
        const unsigned char *src = w->data + (size_t)(r0 + j) * w->row_size + off;
        if (w->type == LQ_TYPE_F32) {
            memcpy(tmp + j * LQI_GEMM_KC, src, (size_t)kc * sizeof(float));
        } else {
            w->to_float(src, tmp + j * LQI_GEMM_KC, kc);
        }
    }
    if (kn->panel) {
        kn->panel(wp, tmp, nv, kc);
    } else {
        lqi_gemm_panel_plain(wp, tmp, kn->nr, nv, kc);
    }
}

/* Asks for the bytes of rows r0 .. r0 + nv - 1, elements k0 .. k0 + kc - 1 (the next chunk):
 * the rows lie n_in elements apart, more streams than the hardware prefetcher follows, and
 * decoding would otherwise wait on memory chunk by chunk. */
static void prefetch_chunk(const struct lqi_weight *w, int64_t r0, int nv, int64_t k0, int64_t kc)
{
    const size_t b0 = lq_row_size(w->type, k0), b1 = lq_row_size(w->type, k0 + kc);
    for (int j = 0; j < nv; j++) {
        const unsigned char *row = w->data + (size_t)(r0 + j) * w->row_size;
        for (size_t b = b0; b < b1; b += 64) {
            __builtin_prefetch(row + b, 0, 2);
        }
    }
}

/* One thread's panels p0 .. p1 - 1 (nr weight rows each) against every token tile, by
 * blocks of LQI_GEMM_PANELS panels: for each chunk of LQI_GEMM_KC elements the block's
 * panels are decoded once, then each token tile's packed activations (in L1) pass them all,
 * so the activations stream from cache once per block, not once per panel, and the block's
 * outputs (all tokens, in the thread's scratch: LQI_GEMM_CB_STRIDE) stay in L2 across
 * chunks, then go to y. The scratch holds a->n_rows tokens' outputs: the acts were sized
 * for at least that many (lqi_gemm_scratch_floats). */
static void gemm_panels(float *y, const struct lqi_weight *w, const struct lqi_acts *a,
                        int64_t p0, int64_t p1, float *scratch)
{
    const struct lqi_gemm_kernel *kn = a->kernel;
    const int64_t n_in = w->n_in, n_out = w->n_out, mr = kn->mr, nr = kn->nr;
    const int64_t r_end = p1 * nr < n_out ? p1 * nr : n_out, ldcb = LQI_GEMM_CB_STRIDE;
    float *tmp = scratch, *wps = scratch + LQI_GEMM_NR_MAX * LQI_GEMM_KC;
    float *cb = scratch + LQI_GEMM_SCRATCH; /* the block's outputs (lqi_gemm_scratch_floats) */
    for (int64_t pb = p0; pb < p1; pb += LQI_GEMM_PANELS) {
        const int64_t np = p1 - pb < LQI_GEMM_PANELS ? p1 - pb : LQI_GEMM_PANELS;
        for (int64_t k0 = 0; k0 < n_in; k0 += LQI_GEMM_KC) {
            const int64_t kc = n_in - k0 < LQI_GEMM_KC ? n_in - k0 : LQI_GEMM_KC;
            for (int64_t i = 0; i < np; i++) {
                const int64_t r0 = (pb + i) * nr;
                const int nv = (int)(n_out - r0 < nr ? n_out - r0 : nr);
                /* the next chunk of these rows, or the next block's first */
                const int64_t k1 = k0 + kc < n_in ? k0 + kc : 0, r1 = k1 ? r0 : r0 + np * nr;
                if (r1 < r_end) {
                    const int64_t kc1 = n_in - k1 < LQI_GEMM_KC ? n_in - k1 : LQI_GEMM_KC;
                    prefetch_chunk(w, r1, (int)(r_end - r1 < nr ? r_end - r1 : nr), k1, kc1);
                }
                pack_weight(wps + i * LQI_GEMM_NR_MAX * LQI_GEMM_KC, tmp, w, kn, r0, nv, k0, kc);
            }
            for (int64_t t = 0; t < a->n_rows; t += mr) {
                const int m = (int)(a->n_rows - t < mr ? a->n_rows - t : mr);
                const float *xp = a->pack + lqi_gemm_pack_offset(kn, n_in, t, k0);
                for (int64_t i = 0; i < np; i++) {
                    const int64_t r0 = (pb + i) * nr;
                    const int nv = (int)(n_out - r0 < nr ? n_out - r0 : nr);
                    kn->tile(kc, xp, wps + i * LQI_GEMM_NR_MAX * LQI_GEMM_KC,
                             cb + t * ldcb + i * nr, ldcb, m, nv, k0 > 0);
                }
            }
        }
        const int64_t b0 = pb * nr, b1 = (pb + np) * nr < n_out ? (pb + np) * nr : n_out;
        for (int64_t t = 0; t < a->n_rows; t++) {
            memcpy(y + t * n_out + b0, cb + t * ldcb, (size_t)(b1 - b0) * sizeof(float));
        }
    }
}

// ---- one-row products: decoding -----------------------------------------------------------

/* One weight row against every activation row through the type's multi-token dot kernel,
 * LQ_VEC_DOT_MULTI_MAX rows per call (a last lone row through vec_dot, the same result). */
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

void lqi_matmul(float *y, const struct lqi_weight *w, const struct lqi_acts *a, int n_threads)
{
    const int64_t n_out = w->n_out;
    /* units a thread takes: GEMM panels, or groups of four rows (lqi_gemv_rows' passes) */
    const int64_t nr = a->kernel->nr;
    const int64_t n_units = a->packed ? (n_out + nr - 1) / nr : (n_out + 3) / 4;
    /* Below about a million multiply-adds a thread team costs more than it saves, and on a
     * busy machine every barrier can wait a whole scheduler slice. */
    const bool big = (double)n_out * (double)w->n_in * (double)a->n_rows >= (double)(1 << 20);
    /* a few tokens of a type with a multi-token kernel: each weight block unpacked once */
    const bool multi = w->kind == LQI_DOT_TABLE && w->vec_dot_multi && a->n_rows > 1;
#pragma omp parallel num_threads(n_threads) if (big)
    {
        const int64_t nt = omp_get_num_threads(), it = omp_get_thread_num();
        const int64_t u0 = n_units * it / nt, u1 = n_units * (it + 1) / nt;
        const int64_t r0 = 4 * u0, r1 = 4 * u1 < n_out ? 4 * u1 : n_out;
        if (a->packed) {
            gemm_panels(y, w, a, u0, u1, a->scratch + (size_t)it * a->scratch_stride);
        } else if (multi) {
            for (int64_t r = r0; r < r1; r++) {
                row_table(y, w, a, r);
            }
        } else {
            for (int64_t t = 0; t < a->n_rows; t++) {
                lqi_gemv_rows(y + t * n_out + r0, w, a->data + (size_t)t * a->row_size, r0, r1);
            }
        }
    }
}
